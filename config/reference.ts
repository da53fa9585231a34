// The configuration reference's table (docs/configuration.md), printed from the schema: one row per
// setting, group and list, in the schema's order, with its default and its doc. Nothing here is
// written by hand, so the table cannot drift from what the program reads.
import * as v from "valibot";
import { settingsSchema } from "./schema";
import { Declaration, OPTIONAL, REQUIRED, declarationOf } from "./settings";

/** One row: the key as the table names it, its default and its meaning (markdown). */
interface Row {
    key: string;
    shownDefault: string;
    meaning: string;
}

/** Where a group is: its key, and the group whose presence makes its required settings required (none when always present). */
interface Place {
    key: string;
    requiredWith?: string;
}

/** The markdown table of every setting: `| Key | Default | Meaning |`. */
export function configurationTable(): string {
    const cell = (text: string) => text.replace(/\s*\n\s*/g, " ").replace(/\|/g, "\\|");
    const rows = walk(settingsSchema, { key: "" }, new Set());
    return [
        "| Key | Default | Meaning |",
        "|---|---|---|",
        ...rows.map((row) => `| \`${row.key}\` | ${cell(row.shownDefault)} | ${cell(row.meaning)} |`),
    ].join("\n");
}

/**
 * The rows of a group's settings, each followed by the rows of its own settings. A group shown
 * already (`targets`' items are `target`'s shape) is not shown again: its list's doc says where it is.
 */
function walk(entries: v.ObjectEntries, parent: Place, shown: Set<v.GenericSchema>): Row[] {
    return Object.entries(entries).flatMap(([name, schema]) => {
        const declared = declarationOf(schema as v.GenericSchema);
        if (!declared) throw new Error(`${parent.key ? `${parent.key}.` : ""}${name} is not declared with setting(), group() or list().`);
        const key = parent.key ? `${parent.key}.${name}` : name;
        // A list of mappings is `key[]`, its items' settings `key[].name`; a list of values is one setting.
        const item = declared.kind === "list" && declarationOf(declared.item!)?.kind === "group" ? declared.item! : undefined;
        const row = {
            key: `${shortKey(parent.key, name)}${item ? "[]" : ""}`,
            shownDefault: shownDefault(declared, parent),
            meaning: declared.reference ?? declared.doc,
        };
        if (item) return [row, ...children(item, { key: `${key}[]` }, shown)];
        if (declared.kind !== "group") return [row];
        // A group's required settings are required when it is set, unless it is required itself.
        const requiredWith = declared.fallback === REQUIRED ? parent.requiredWith : name;
        return [row, ...children(schema as v.GenericSchema, { key, requiredWith }, shown)];
    });
}

function children(group: v.GenericSchema, place: Place, shown: Set<v.GenericSchema>): Row[] {
    if (shown.has(group)) return [];
    shown.add(group);
    return walk(declarationOf(group)!.entries!, place, shown);
}

/** The key in full, or, under a group inside a list item, from that group on (`…replication.stagingAreaSubnetId`). */
function shortKey(parent: string, name: string): string {
    if (!parent) return name;
    if (parent.includes("[]") && !parent.endsWith("[]")) return `…${parent.slice(parent.lastIndexOf(".") + 1)}.${name}`;
    return `${parent}.${name}`;
}

/** The default as the table shows it: its value in backticks, `none`, `required` (with its group), or the declaration's own wording. */
function shownDefault(declared: Declaration, parent: Place): string {
    if (declared.shownDefault !== undefined) return declared.shownDefault;
    if (declared.fallback === REQUIRED) return parent.requiredWith ? `required with \`${parent.requiredWith}\`` : "required";
    if (declared.fallback === OPTIONAL || declared.fallback === undefined) return "none";
    return `\`${typeof declared.fallback === "string" ? declared.fallback : JSON.stringify(declared.fallback)}\``;
}
