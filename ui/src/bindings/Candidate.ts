// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
import type { Action } from "./Action";
import type { Risk } from "./Risk";

export type Candidate = { command: string, explanation: string, risk: Risk, risk_reason: string, 
/**
 * `confirm`: the user must confirm again before it is copied.
 */
action: Action, 
/**
 * A safer command that does or shows the same first (a dry run, a
 * preview, an interactive form), for high and critical ones.
 */
safer?: string, 
/**
 * Why it may not run on this system (e.g. a GNU-only flag on macOS).
 */
portability?: string, 
/**
 * Mean log-probability of the answer's tokens; higher is surer.
 */
score: number, 
/**
 * How many of the request's completions gave this command (the same
 * once whitespace is normalised): agreement among samples.
 */
votes: number, 
/**
 * Its command is complete and its explanation is still being
 * written: the same command follows again, complete.
 */
pending?: boolean, };
