// Small helpers for the SDK integration tests: checks that collect failures, the admin read API.

import { isDeepStrictEqual } from 'node:util'

export function requireEnv(name) {
  const v = process.env[name]
  if (!v) {
    console.error(`missing environment variable ${name} (run through tests/sdk/run.sh)`)
    process.exit(2)
  }
  return v
}

const show = (v) => {
  const s = JSON.stringify(v)
  return s === undefined ? String(v) : s.length > 800 ? `${s.slice(0, 800)}…` : s
}

/** Checks that record every failure with what was seen; `done` prints them and sets the exit code. */
export function checker(name) {
  const failures = []
  let passed = 0
  const check = (what, ok, seen) => {
    if (ok) {
      passed++
    } else {
      failures.push(`${what}: got ${show(seen)}`)
      console.error(`[${name}] FAIL ${what}: got ${show(seen)}`)
    }
    return ok
  }
  const eq = (what, got, want, context) => {
    const ok = isDeepStrictEqual(got, want)
    if (ok) passed++
    else {
      const extra = context === undefined ? '' : ` (response: ${show(context)})`
      failures.push(`${what}: expected ${show(want)}, got ${show(got)}${extra}`)
      console.error(`[${name}] FAIL ${what}: expected ${show(want)}, got ${show(got)}${extra}`)
    }
    return ok
  }
  const done = (summary) => {
    if (failures.length) {
      console.error(`[${name}] ${failures.length} of ${passed + failures.length} checks failed`)
      process.exit(1)
    }
    console.log(`[${name}] ${passed} checks passed ${show(summary)}`)
    process.exit(0)
  }
  return { check, eq, done }
}

/** GET a path with a bearer token; returns { status, body } (body parsed as JSON when it is). */
export async function getJson(base, token, path) {
  const res = await fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${token}` } })
  const text = await res.text()
  let body = text
  try {
    body = JSON.parse(text)
  } catch {}
  return { status: res.status, body }
}

/** Calls `probe` until it returns something truthy or `ms` pass; returns the last result. */
export async function poll(probe, ms = 5000) {
  const end = Date.now() + ms
  let last
  for (;;) {
    last = await probe()
    if (last.ok || Date.now() > end) return last.value
    await new Promise((r) => setTimeout(r, 100))
  }
}
