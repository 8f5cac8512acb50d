import { MemoryUserDirectory } from '../../src/users/memory.js';
import { describeUserDirectoryContract } from './contract.js';

describeUserDirectoryContract('memory', async () => new MemoryUserDirectory());
