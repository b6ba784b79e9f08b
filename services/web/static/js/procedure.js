// procedure.js — the procedure as the server states it (GET /api/v1/procedure):
// states with their labels and kinds, roles, actions with what they require.
// Fetched once per page.

import { api } from './api.js';

let cached = null;
export async function procedure () {
  if (!cached) {
    cached = api.get('/api/v1/procedure').catch((e) => { cached = null; throw e; });
  }
  return cached;
}

export function stateOf (proc, name) {
  return (proc && Array.isArray(proc.states) && proc.states.find((s) => s.name === name)) || null;
}

// The arguments an action requires: the case's allowed_actions entry first,
// the procedure's action lines otherwise
export function requiresOf (proc, allowed) {
  if (Array.isArray(allowed.requires)) return allowed.requires;
  const line = proc && Array.isArray(proc.actions) && proc.actions.find((a) =>
    a.name === allowed.action && (a.variant || '') === (allowed.variant || ''));
  return (line && Array.isArray(line.requires)) ? line.requires : [];
}
