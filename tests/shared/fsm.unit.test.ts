/** The transition table type every lifecycle is built on (src/shared/fsm.ts), on a small table of its own. */
import { StateMachine } from '../../src/shared/fsm';

type Light = 'RED' | 'GREEN' | 'AMBER' | 'OFF';
const lights = new StateMachine<Light>('light', { RED: ['GREEN', 'OFF'], GREEN: ['AMBER', 'OFF'], AMBER: ['RED', 'OFF'], OFF: [] });

test.each([
  ['RED', 'GREEN', true],
  ['GREEN', 'AMBER', true],
  ['AMBER', 'RED', true],
  ['RED', 'AMBER', false],
  ['GREEN', 'RED', false],
  ['RED', 'RED', false],
  ['OFF', 'RED', false],
  ['AMBER', 'OFF', true],
] as const)('%s → %s allowed: %s', (from, to, allowed) => {
  expect(lights.can(from, to)).toBe(allowed);
});

test('from() names every state a change may start from, in the table’s order; none for an unreachable state', () => {
  expect(lights.from('OFF')).toEqual(['RED', 'GREEN', 'AMBER']);
  expect(lights.from('RED')).toEqual(['AMBER']);
  expect(new StateMachine<Light>('x', { RED: [], GREEN: ['RED'], AMBER: [], OFF: [] }).from('GREEN')).toEqual([]);
});

test('open() leaves out the final states', () => {
  expect(lights.open()).toEqual(['RED', 'GREEN', 'AMBER']);
});

test('assert() throws the error it is given, and builds it only when refusing', () => {
  const make = jest.fn(() => new Error('no such change'));
  lights.assert('RED', 'GREEN', make);
  expect(make).not.toHaveBeenCalled();
  expect(() => lights.assert('OFF', 'GREEN', make)).toThrow('no such change');
  expect(make).toHaveBeenCalledTimes(1);
});
