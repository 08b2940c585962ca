// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
import type { Candidate } from "./Candidate";
import type { Timings } from "./Timings";

/**
 * One message on the `suggestion` event, tagged with the request's id so
 * the UI can drop what a newer request made stale.
 */
export type Suggestion = { "type": "candidate", id: number, candidate: Candidate, } | { "type": "done", id: number, candidates: Array<Candidate>, hidden: number, notices: Array<string>, timings: Timings, } | { "type": "error", id: number, message: string, } | { "type": "cancelled", id: number, };
