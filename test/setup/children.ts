import { killAll } from '../helpers/process.js';

/**
 * Every test file: no child process started through test/helpers/process.ts outlives the file. Jest
 * runs the files in one process on two cores, so a child left running (a test that timed out before
 * its own clean-up) would otherwise keep Jest from exiting at the end of the run.
 */
afterAll(() => killAll());
