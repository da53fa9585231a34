// How messages word things: a count with its noun, a user's value or key shown safely (quoted,
// escaped, cut), and the known word nearest a misspelt one.
import edits from "damerau-levenshtein";

/** `1 server`, `2 servers`; `many` where the plural is not the noun and an s. */
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Edits between two words: a swap of two neighbours is one edit (optimal string alignment), the typos people make. */
export const editsApart = (a: string, b: string) => edits(a, b).steps;

/** The one candidate nearest `word` within two edits (case aside: one differing only in case is nearest), if there is exactly one. */
export function closest(word: string, candidates: string[]): string | undefined {
    const limit = 2;
    // Lengths further apart than the limit are further apart in edits: skip them before the library
    // builds its table, which is the longer length squared (a 100,000-character key ran out of memory).
    const near = candidates.filter((c) => c !== word && Math.abs(c.length - word.length) <= limit);
    const scored = near.map((c) => ({ c, d: editsApart(word.toLowerCase(), c.toLowerCase()) })).filter(({ d }) => d <= limit);
    const nearest = scored.filter(({ d }) => d === Math.min(...scored.map((x) => x.d)));
    return nearest.length === 1 ? nearest[0].c : undefined;
}

/** Characters of a user's text a message shows: any valid tag name, role name and most ARNs whole, never megabytes. */
const shownLength = 128;

/** A user's value in a message, as JSON writes it (quotes and control characters escaped), cut after shownLength characters. */
export function shown(value: unknown): string {
    if (typeof value !== "string") {
        const json = JSON.stringify(value) ?? String(value);
        return json.length <= shownLength ? json : `${json.slice(0, shownLength)}… (${json.length} characters)`;
    }
    if (value.length <= shownLength) return JSON.stringify(value);
    // Not through the middle of a surrogate pair.
    const head = value.slice(0, /[\uD800-\uDBFF]/.test(value[shownLength - 1]) ? shownLength - 1 : shownLength);
    return `${JSON.stringify(head).slice(0, -1)}…" (${value.length} characters)`;
}

/** A key as a step of a path: `.name` when it is plain, `["..."]` as JSON writes it otherwise. */
export const pathStep = (key: string | number) =>
    typeof key === "number" ? `[${key}]` : /^[\w-]+$/.test(key) && key.length <= shownLength ? `.${key}` : `[${shown(key)}]`;
/** A key of the stack's config as messages name it: as it is when plain, as JSON writes it otherwise. */
export const shownKey = (key: string) => (/^[\w.:-]+$/.test(key) && key.length <= shownLength ? key : shown(key));
