import { inferShapes, type InferShapesOptions } from '../shape/infer.js';
import type { Pass } from './pass.js';

/** Shape inference as a pass (annotates value types; modified when any type changed). */
export function shapeInference(options: InferShapesOptions = {}): Pass {
  return {
    name: 'shape-inference',
    inPlace: true,
    run: (model) => ({ model, modified: inferShapes(model, options).updated > 0 }),
  };
}
