// The app's entry in GitHub Actions (bundled to action/app-dist/index.js): no logic here.
import { runInActions } from './actions-entry.js';

await runInActions();
