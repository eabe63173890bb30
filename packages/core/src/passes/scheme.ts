import { InvalidArgumentError } from '../errors.js';
import type { Pass } from './pass.js';
import type { PrepareNeeds } from './prepare.js';

/**
 * A named transformation recipe: option checks and the list of passes that carry it out. Every
 * quantization mode and pruning method is one; `quantize()` / `prune()` look the scheme up in
 * their registry and run its passes, and the CLI builds its `--mode` / `--method` lists, checks
 * and help from the same registry. A new scheme is one object and one `register` call.
 *
 * `report` is the scheme's own record of what its passes did (nodes changed, ranges, …), created
 * by the caller and filled in by the passes.
 *
 * @example
 * ```ts
 * const stripDocs: Scheme<{ keepGraphDoc?: boolean }, { cleared: number }> = {
 *   name: 'strip-docs',
 *   summary: 'remove doc strings',
 *   validate() {},
 *   passes: (options, report) => [{
 *     name: 'strip-doc-strings', inPlace: true,
 *     run(model) {
 *       for (const g of model.graphs()) for (const n of g) if (n.docString) { n.docString = ''; report.cleared++; }
 *       return { model, modified: report.cleared > 0 };
 *     },
 *   }],
 * };
 * ```
 */
export interface Scheme<O, R> {
  readonly name: string;
  /** One line for `--help` and error messages. */
  readonly summary: string;
  /** Throws InvalidArgumentError naming the option when `options` cannot work for this scheme. */
  validate(options: O): void;
  /** The passes, in order; they record what they did in `report`. */
  passes(options: O, report: R): Pass[];
  /** What the model must be for these options (an opset, say); the caller prepares it so first. */
  needs?(options: O): PrepareNeeds;
}

/**
 * Schemes by name, in registration order. `get` names every registered scheme when asked for
 * one it lacks, so a typo gets a useful message.
 *
 * @example
 * ```ts
 * const schemes = new SchemeRegistry<Scheme<MyOptions, MyReport>>('export format');
 * schemes.register(myScheme);
 * schemes.get('mine').passes(options, report);
 * ```
 */
export class SchemeRegistry<S extends Scheme<never, never>> {
  private readonly entries = new Map<string, S>();

  /** `kind` names what the schemes are in messages ("quantization mode", "pruning method"). */
  constructor(
    readonly kind: string,
    readonly option = 'mode',
  ) {}

  /** Add a scheme, or replace the one of the same name. */
  register(scheme: S): void {
    if (!scheme?.name || typeof scheme.passes !== 'function' || typeof scheme.validate !== 'function')
      throw new InvalidArgumentError(`a ${this.kind} needs a name, validate() and passes()`, this.option);
    this.entries.set(scheme.name, scheme);
  }

  unregister(name: string): boolean {
    return this.entries.delete(name);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The scheme called `name`; an InvalidArgumentError listing the registered ones otherwise. */
  get(name: string): S {
    const s = this.entries.get(name);
    if (!s)
      throw new InvalidArgumentError(
        `unknown ${this.kind} '${name}'; use ${[...this.entries.keys()].join(', ')}`,
        this.option,
      );
    return s;
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  list(): S[] {
    return [...this.entries.values()];
  }
}
