import { packageBuild } from '../../tsup.base.js';

// The isolated child is its own entry so a forked process can start it by path.
export default packageBuild(['src/index.ts', 'src/isolated-child.ts']);
