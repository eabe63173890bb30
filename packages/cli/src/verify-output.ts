/**
 * Nothing a command writes may be a model onnxruntime cannot load or run: every command that
 * writes a model checks it here first and writes nothing when the check fails.
 */
import { BackendError, type Backend, type Model, type Session, type Tensor } from '@edgeml/core';
import { makeFeeds } from '@edgeml/benchmark';

/** The first line of an error's message (runtimes append stack-like detail). */
export const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0];

/** A session on a model a command is about to write; a model that does not load is a BackendError, nothing written. */
export async function openWrittenModel(backend: Backend, model: Model | Uint8Array, what: string): Promise<Session> {
  try {
    return await backend.createSession(model);
  } catch (e) {
    throw new BackendError(`the ${what} model does not load in ${backend.name}: ${firstLine(e)}; nothing was written`, {
      backend: backend.name,
      cause: e,
    });
  }
}

async function runOnce(session: Session, feeds: Record<string, Tensor>): Promise<string | undefined> {
  try {
    await session.run(feeds);
    return undefined;
  } catch (e) {
    return firstLine(e);
  }
}

/**
 * Load `result` in `backend` and run it once on seeded random inputs (dynamic dimensions 1). A run that fails is a defect of the result only when `original` runs on the same
 * inputs (some models reject random data, e.g. an unsupported sample rate): then both fail alike.
 *
 * @throws BackendError naming the command, the runtime and its reason; nothing has been written.
 */
export async function verifyOutputModel(result: Model, original: Model, backend: Backend, what: string): Promise<void> {
  const session = await openWrittenModel(backend, result, what);
  try {
    let feeds: Record<string, Tensor>;
    try {
      feeds = makeFeeds(session.inputs);
    } catch {
      return; // inputs random data cannot stand for (string tensors, sequences): loading is the check
    }
    const failure = await runOnce(session, feeds);
    if (!failure) return;
    const reference = await backend.createSession(original);
    const originalFailure = await runOnce(reference, feeds).finally(() => reference.dispose());
    if (!originalFailure)
      throw new BackendError(
        `the ${what} model loads in ${backend.name} but fails to run where the input model runs: ${failure}; nothing was written`,
        { backend: backend.name },
      );
  } finally {
    await session.dispose();
  }
}
