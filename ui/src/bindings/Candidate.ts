// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
import type { Action } from "./Action";
import type { Risk } from "./Risk";

/**
 * A suggested command with its explanation and risk.
 */
export type Candidate = { command: string, explanation: string, risk: Risk, risk_reason: string, action: Action, 
/**
 * A safer first step (a dry run, a preview) for a high or critical one.
 */
safer?: string, 
/**
 * Why it may not run on this system.
 */
portability?: string, 
/**
 * Mean log-probability of the answer's tokens; higher is surer.
 */
score: number, 
/**
 * How many of the request's completions gave this command.
 */
votes: number, };
