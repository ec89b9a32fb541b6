// The CLI's entry in the self-contained bundle action/cli.js (`node action/cli.js <command>`):
// no logic here.
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
