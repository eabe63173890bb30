import { tf } from './tf.js';

/** Mean cross-entropy of logits [B, C] against class indices. */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor1D): tf.Scalar {
  const logp = tf.logSoftmax(logits as tf.Tensor2D);
  return tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels, logits.shape[1]!), logp), 1))) as tf.Scalar;
}

/**
 * Hinton et al.'s distillation loss: α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1−α)·CE(labels, s).
 * T² keeps the soft term's gradients on the scale of the hard one as T grows. Without labels
 * the loss is the soft term alone.
 */
export function distillationLoss(
  student: tf.Tensor,
  teacher: tf.Tensor,
  labels: tf.Tensor1D | undefined,
  temperature: number,
  alpha: number,
): tf.Scalar {
  const p = tf.softmax(tf.div<tf.Tensor2D>(teacher, temperature));
  const logp = tf.logSoftmax(tf.div<tf.Tensor2D>(teacher, temperature));
  const logq = tf.logSoftmax(tf.div<tf.Tensor2D>(student, temperature));
  const kl = tf.mean(tf.sum(tf.mul(p, tf.sub(logp, logq)), 1));
  const soft = tf.mul<tf.Scalar>(kl, temperature * temperature);
  if (!labels || alpha >= 1) return soft;
  return tf.add<tf.Scalar>(tf.mul(soft, alpha), tf.mul(crossEntropy(student, labels), 1 - alpha));
}
