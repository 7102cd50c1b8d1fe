// The few declarations of node:test and node:assert that the tests use, so
// that they type-check without @types/node.

declare module 'node:assert/strict' {
  type Check = ((err: unknown) => boolean) | (abstract new (...args: never[]) => unknown) | RegExp | object;
  interface Assert {
    (value: unknown, message?: string): asserts value;
    ok(value: unknown, message?: string): asserts value;
    equal<T>(actual: unknown, expected: T, message?: string): asserts actual is T;
    notEqual(actual: unknown, expected: unknown, message?: string): void;
    deepEqual<T>(actual: unknown, expected: T, message?: string): asserts actual is T;
    throws(fn: () => unknown, check?: Check, message?: string): void;
    rejects(p: Promise<unknown> | (() => Promise<unknown>), check?: Check, message?: string): Promise<void>;
  }
  const assert: Assert;
  export default assert;
}

declare module 'node:test' {
  type Fn = () => void | Promise<void>;
  interface Options {
    skip?: boolean | string;
    timeout?: number;
  }
  export function describe(name: string, fn: Fn): void;
  export function describe(name: string, opts: Options, fn: Fn): void;
  export function it(name: string, fn: Fn): void;
  export function it(name: string, opts: Options, fn: Fn): void;
  export function afterEach(fn: Fn): void;
}
