// A small seeded random generator for tests that print their seed, so that a failure can be replayed.
export { seededRandom } from '../../src/risk/seeded-random.ts';
