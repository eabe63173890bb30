import { EdgeMLError, InvalidArgumentError } from '../errors.js';
import type { Model } from '../ir/model.js';

export interface PassResult {
  model: Model;
  modified: boolean;
}

/**
 * A transformation of a model. `inPlace` passes edit and return the model they were
 * given; the others return a new Model and leave their input as it was.
 *
 * @example
 * ```ts
 * const renameGraph: Pass = {
 *   name: 'rename-graph', inPlace: true,
 *   run(model) { model.graph.name = 'main'; return { model, modified: true }; },
 * };
 * ```
 */
export interface Pass {
  readonly name: string;
  readonly inPlace: boolean;
  run(model: Model): PassResult | Promise<PassResult>;
}

/** A pass broke its declared contract (returned the wrong model, or left an invalid graph). */
export class PassContractError extends EdgeMLError {
  constructor(
    readonly pass: string,
    message: string,
  ) {
    super('E_PASS_CONTRACT', `pass '${pass}': ${message}`);
  }
}

export interface PassManagerOptions {
  /** Repeat the whole list until no pass modifies the model. */
  fixedPoint?: boolean;
  /** Upper bound on fixed-point rounds (default 10). */
  maxIterations?: number;
  /** Check graph invariants after every pass (default true). */
  validate?: boolean;
}

export interface PassManagerResult extends PassResult {
  /** Each pass run, in order, and whether it changed anything. */
  log: { pass: string; modified: boolean; round: number }[];
}

/**
 * Runs passes in order, optionally to a fixed point, checking each pass's contract:
 * in-place passes must return the same Model, others a different one, and the main graph
 * must still be valid (acyclic, every node in one graph).
 *
 * @example
 * ```ts
 * const { model: out } = await new PassManager([constantFolding(), deadCodeElimination()], { fixedPoint: true }).run(model);
 * ```
 */
export class PassManager {
  private readonly passes: readonly Pass[];
  private readonly options: Required<PassManagerOptions>;

  constructor(passes: readonly Pass[], options: PassManagerOptions = {}) {
    for (const p of passes)
      if (!p || typeof p.run !== 'function' || !p.name)
        throw new InvalidArgumentError('every pass needs a name and a run(model) function', 'passes');
    this.passes = passes;
    this.options = {
      fixedPoint: options.fixedPoint ?? false,
      maxIterations: options.maxIterations ?? 10,
      validate: options.validate ?? true,
    };
  }

  async run(model: Model): Promise<PassManagerResult> {
    const log: PassManagerResult['log'] = [];
    let current = model;
    let anyModified = false;
    const rounds = this.options.fixedPoint ? this.options.maxIterations : 1;
    for (let round = 0; round < rounds; round++) {
      let modified = false;
      for (const pass of this.passes) {
        const result = await pass.run(current);
        if (!result || !result.model) throw new PassContractError(pass.name, 'run() must return { model, modified }');
        if (pass.inPlace && result.model !== current)
          throw new PassContractError(pass.name, 'declared inPlace but returned a different Model');
        if (!pass.inPlace && result.model === current && result.modified)
          throw new PassContractError(pass.name, 'declared not inPlace but modified and returned its input Model');
        if (this.options.validate) {
          try {
            result.model.graph.validate();
          } catch (e) {
            throw new PassContractError(pass.name, `left an invalid graph: ${(e as Error).message}`);
          }
        }
        log.push({ pass: pass.name, modified: result.modified, round });
        current = result.model;
        modified ||= result.modified;
      }
      anyModified ||= modified;
      if (!modified) break;
    }
    return { model: current, modified: anyModified, log };
  }
}
