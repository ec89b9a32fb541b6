// Prints the plain closing line CI looks for ("N passed, N failed, N skipped") as the very
// last line, after Jest's own summary (hence at exit).
const { writeSync } = require('node:fs');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const { numPassedTests: passed, numFailedTests: failed, numPendingTests: skipped } = results;
    process.once('exit', () =>
      writeSync(2, `tests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`),
    );
  }
}
module.exports = SummaryReporter;
