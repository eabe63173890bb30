// @ts-check
/**
 * TypeDoc plugin: a namespace that re-exports another package (`export * as tf from
 * '@tensorflow/tfjs-core'`, `import * as x from 'pkg'; export { x }`) is documented as one item
 * — its own doc comment, which should link to that package's docs — instead of one page per
 * member of the other package. Type references into it (`tf.Tensor4D` in a signature) then
 * resolve through `externalSymbolLinkMappings` like any other external type.
 *
 * TypeDoc has no option for this: `excludeExternals` drops the namespace itself along with its
 * members, so users would not find `tf` in the docs at all. Loaded from the root typedoc.json
 * (`plugin`), it applies to every package.
 */
import { Converter, ReflectionKind } from 'typedoc';

const NODE_MODULES = /[\\/]node_modules[\\/]/;

/** @param {import('typedoc').Application} app */
export function load(app) {
  /** @type {Set<import('typedoc').Reflection>} */
  const external = new Set();

  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
    if (!reflection.kindOf(ReflectionKind.Namespace)) return;
    // Only the namespace a package exports; the other package's own nested namespaces go with it.
    for (let parent = reflection.parent; parent; parent = parent.parent) if (external.has(parent)) return;
    const declarations = context.getSymbolFromReflection(reflection)?.getDeclarations() ?? [];
    if (declarations.length > 0 && declarations.every((d) => NODE_MODULES.test(d.getSourceFile().fileName))) {
      external.add(reflection);
    }
  });

  // Before grouping and link resolution, so the namespace page lists nothing and references into
  // it fall through to externalSymbolLinkMappings.
  app.converter.on(
    Converter.EVENT_RESOLVE_BEGIN,
    (context) => {
      for (const namespace of external) {
        if (!namespace.isDeclaration()) continue;
        for (const child of [...(namespace.children ?? [])]) context.project.removeReflection(child);
      }
      external.clear();
    },
    1000,
  );
}
