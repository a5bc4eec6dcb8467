// Helpers shared by the browser tests: counted checks that print what they saw, set-up errors,
// polling and timeouts.

import { isDeepStrictEqual } from 'node:util'

/** A value as short JSON, for failure messages. */
export const show = (v) => {
  const s = JSON.stringify(v)
  return s === undefined ? String(v) : s.length > 900 ? `${s.slice(0, 900)}…` : s
}

/** Counted checks for the test `name`: `check(what, ok, seen)`, `eq(what, got, want, context)`;
 * `failures` lists what failed and `passed` counts the rest. */
export function checks(name) {
  const t = {
    failures: [],
    passed: 0,
    check(what, ok, seen) {
      if (ok) t.passed++
      else {
        t.failures.push(what)
        console.error(`[${name}] FAIL ${what}: got ${show(seen)}`)
      }
      return ok
    },
    eq(what, got, want, context) {
      const ok = isDeepStrictEqual(got, want)
      if (ok) t.passed++
      else {
        t.failures.push(what)
        const extra = context === undefined ? '' : ` (context: ${show(context)})`
        console.error(`[${name}] FAIL ${what}: expected ${show(want)}, got ${show(got)}${extra}`)
      }
      return ok
    },
  }
  return t
}

/** A failure of the set-up (exit 2), not of a check. */
export class SetupError extends Error {}
export const setup = (msg) => {
  throw new SetupError(msg)
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Calls `probe` every `every` ms until it gives a truthy value or `ms` pass; returns the last. */
export async function poll(probe, ms = 10000, every = 50) {
  const end = Date.now() + ms
  for (;;) {
    const v = await probe()
    if (v || Date.now() > end) return v
    await sleep(every)
  }
}

/** `promise`, or a SetupError naming `what` after `ms`. */
export function withTimeout(promise, ms, what) {
  let t
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      t = setTimeout(() => reject(new SetupError(`${what} did not finish in ${ms / 1000} s`)), ms)
    }),
  ]).finally(() => clearTimeout(t))
}
