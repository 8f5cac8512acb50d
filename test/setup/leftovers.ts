import { closePasswordHashing } from '../../src/users/password.js';
import { killAll } from '../helpers/process.js';

/**
 * Every test file: no child process started through test/helpers/process.ts, and no password hashing
 * thread, outlives the file. Jest runs the files in one process on two cores, so a child left running
 * (a test that timed out before its own clean-up) would otherwise keep Jest from exiting at the end of
 * the run, and idle hashing threads would pile up file after file.
 */
afterAll(() => Promise.all([killAll(), closePasswordHashing()]));
