// The helpers every setting is declared with: a kind reads a value as AWS accepts it or says why
// not, and a setting, group or list adds its doc, its default and the messages of a mapping, and
// declares them for the configuration reference (config/reference.ts).
import * as v from "valibot";
import { closest, shown } from "./text";

/**
 * Stands for a `secure:` value the offline tools cannot decrypt: a setting of any kind holding it
 * is not judged (but deploy, key.targetAccess and prices, which the offline tools cannot do without),
 * and it is never printed. Under the engine, secrets arrive decrypted and are checked.
 */
export const secretPlaceholder = "[secret]";

/** Why a value is refused: the text that follows its key. */
export class Problem {
    constructor(readonly message: string) {}
}
export const refuse = (message: string) => new Problem(message);

/**
 * Reads a value as AWS accepts it, or says why not; `hint` says what to set when it is required and
 * missing; `secret` is what a secret the offline tools cannot read stands for (default: the placeholder).
 */
export type Kind<T> = ((x: unknown) => T | Problem) & { hint?: string; secret?: T | Problem };
/** A text kind, with what to set when it is required and missing. */
export const text = (read: Kind<string>, hint?: string): Kind<string> => Object.assign(read, { hint });
export const shaped = (valid: RegExp | ((x: string) => unknown), what: string, hint?: string) =>
    text(
        (x) => (typeof x === "string" && (valid instanceof RegExp ? valid.test(x) : valid(x)) ? x : refuse(`${shown(x)} is not ${what}.`)),
        hint,
    );

/** A setting without a default: its absence is a problem (REQUIRED), or it may be left out (OPTIONAL). */
export const REQUIRED = Symbol("required");
export const OPTIONAL = Symbol("optional");
export type Fallback = typeof REQUIRED | typeof OPTIONAL | unknown;
export type Of<T, F> = F extends typeof OPTIONAL ? v.OptionalSchema<v.GenericSchema<unknown, T>, undefined> : v.GenericSchema<unknown, T>;

/**
 * A setting's doc: markdown, as the configuration reference (config/reference.ts) shows it, links
 * relative to docs/. Or the doc with `reference`, what the reference says instead (where the doc
 * must stay as it is: Pulumi.yaml repeats it), and `shownDefault`, what the reference's Default
 * column says instead of the default (`DRS's`, for a setting DRS defaults; when it is required).
 */
export type Doc = string | { doc: string; reference?: string; shownDefault?: string };

/** What a setting, group or list declares, for the configuration reference: valibot metadata, which parsing skips. */
export interface Declaration {
    kind: "setting" | "group" | "list";
    doc: string;
    reference?: string;
    shownDefault?: string;
    fallback: Fallback;
    /** A group's settings, in their order. */
    entries?: v.ObjectEntries;
    /** What a list holds: a setting, or a group. */
    item?: v.GenericSchema;
    /** A group's keys refused with their own reason. */
    refused?: Record<string, string>;
}

/** The declaration of a schema made by setting(), group() or list(), if it is one. */
export const declarationOf = (schema: v.GenericSchema): Declaration | undefined =>
    (v.getMetadata(schema) as { declaration?: Declaration }).declaration;

export function declared<T, F extends Fallback>(
    doc: Doc,
    schema: v.GenericSchema<unknown, T>,
    fallback: F,
    shape: Pick<Declaration, "kind" | "entries" | "item" | "refused"> = { kind: "setting" },
): Of<T, F> {
    const defaulted = fallback === REQUIRED ? schema : v.optional(schema, fallback === OPTIONAL ? undefined : (fallback as never));
    const declaration: Declaration = { ...(typeof doc === "string" ? { doc } : doc), fallback, ...shape };
    return v.pipe(defaulted, v.description(declaration.doc), v.metadata({ declaration })) as unknown as Of<T, F>;
}

/** A setting of a kind; a required one reads its own absence, to say what to set. */
export function setting<T, F extends Fallback>(doc: Doc, read: Kind<T>, fallback: F): Of<T, F> {
    const checked = v.pipe(
        v.unknown(),
        v.rawTransform<unknown, T>(({ dataset: { value }, addIssue, NEVER }) => {
            // A secret is not judged offline, whatever its kind; the rules and warnings take it as unknown.
            const result =
                value === REQUIRED
                    ? refuse(read.hint ? `is required: ${read.hint}` : "is required.")
                    : value === secretPlaceholder
                      ? (read.secret ?? (value as T))
                      : read(value);
            if (!(result instanceof Problem)) return result;
            addIssue({ message: result.message, expected: value === REQUIRED ? "required" : undefined });
            return NEVER;
        }),
    );
    return declared(doc, fallback === REQUIRED ? v.optional(checked, REQUIRED as never) : checked, fallback) as Of<T, F>;
}

/** A mapping of settings: an unknown key is refused with the known ones and the one likely meant; `refused` keys get their own reason. */
export function group<const E extends v.ObjectEntries, F extends Fallback>(
    doc: Doc,
    entries: E,
    fallback: F,
    refused: Record<string, string> = {},
) {
    const shape = v.strictObject(entries, (issue) => {
        if (issue.expected !== "never") return issue.received === "undefined" ? "is required." : "must be an object (a YAML mapping).";
        // The key as it is (valibot's `received` quotes it without escaping).
        return unknownKeyMessage(String(issue.path?.at(-1)?.key ?? ""), entries, refused);
    });
    return declared(doc, shape as v.GenericSchema<unknown, v.InferOutput<typeof shape>>, fallback, { kind: "group", entries, refused });
}

/** Why a key of a group is refused: its own reason (`refused`, looked up by its own keys only, not "constructor"), or the known keys and the one likely meant. */
function unknownKeyMessage(key: string, entries: v.ObjectEntries, refused: Record<string, string>): string {
    const known = Object.keys(entries);
    const meant = closest(key, known);
    return Object.hasOwn(refused, key)
        ? refused[key]
        : `is not a known setting. Known: ${known.join(", ")}.${meant ? ` Did you mean ${meant}?` : ""}`;
}

/**
 * Every unknown key of a value, at any depth of the groups and lists its schema declares, with its
 * message: valibot's strictObject names only the first unknown key of each mapping.
 */
export function unknownKeys(schema: v.GenericSchema, value: unknown, keys: (string | number)[] = []) {
    const declared = declarationOf(schema);
    const found: { keys: (string | number)[]; message: string }[] = [];
    if (declared?.kind === "list" && Array.isArray(value))
        value.forEach((item, i) => found.push(...unknownKeys(declared.item!, item, [...keys, i])));
    if (declared?.kind !== "group" || value === null || typeof value !== "object" || Array.isArray(value)) return found;
    const entries = declared.entries!;
    for (const key of Object.keys(value)) {
        const item = (value as Record<string, unknown>)[key];
        if (!Object.hasOwn(entries, key))
            found.push({ keys: [...keys, key], message: unknownKeyMessage(key, entries, declared.refused ?? {}) });
        else found.push(...unknownKeys(entries[key] as v.GenericSchema, item, [...keys, key]));
    }
    return found;
}

/** A list of a kind, or of mappings; `shape` says what the list must hold. */
export function list<T, F extends Fallback>(doc: Doc, item: Kind<T> | v.GenericSchema<unknown, T>, fallback: F, shape: string) {
    const each = typeof item === "function" ? setting("", item, REQUIRED) : item;
    const items = v.array(each, shape);
    return declared(doc, items as v.GenericSchema<unknown, T[]>, fallback, { kind: "list", item: each as v.GenericSchema });
}
