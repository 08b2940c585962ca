// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
export type Timings = { prompt_tokens: number, 
/**
 * Prompt tokens whose keys and values were reused from the cache.
 */
cached_tokens: number, generated_tokens: number, prefill_ms: number, 
/**
 * From the request's start to the first generated token.
 */
first_token_ms: number, total_ms: number, 
/**
 * Time spent choosing tokens from the logits (sampling), all tokens.
 */
sample_ms: number, 
/**
 * From the request's start until every command shown was complete (its
 * closing fence), before the explanations end; set by the suggestion
 * layer, which knows what a command is. 0 where not measured.
 */
commands_ms: number, 
/**
 * As `commands_ms`, until the first shown command was complete.
 */
first_command_ms: number, 
/**
 * Tokens drafted from the text so far (`Request::speculate`).
 */
drafted_tokens: number, 
/**
 * Drafted tokens the model agreed with, each a step saved.
 */
accepted_tokens: number, 
/**
 * Other prompts' own tokens (a batch's second prompt after what it
 * shares with the first: the tldr examples), not in `prompt_tokens`;
 * 0 where completions run in turn (the GPU, `sequential`).
 */
tail_tokens: number, 
/**
 * Time computing them, not in `prefill_ms`; the part computed after
 * decoding began paused the rows decoding for that long.
 */
tail_ms: number, };
