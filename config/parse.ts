// Raw config (this program's keys) -> typed, validated settings: each section read by its schema,
// then the rules between settings and the advice. Every problem is reported at once, each naming
// its full key and the fix, before any resource is registered.
import * as v from "valibot";
import { parseKeyArn, parseRoleArn } from "../components/policies";
import { advice } from "./advice";
import { ConfigError } from "./errors";
import { Findings, ReadSettings, rules } from "./rules";
import { RawConfig, Settings, configNamespace, settingsSchema } from "./schema";
import { unknownKeys } from "./settings";
import { closest, pathStep, shownKey } from "./text";

export interface ParsedConfig {
    settings: Settings;
    warnings: string[];
}

/** A top-level key of the settings. */
export type Section = keyof typeof settingsSchema;
export const sections = Object.keys(settingsSchema) as Section[];
const isSection = (key: string | undefined): key is Section => (sections as (string | undefined)[]).includes(key);

/** Parses and validates raw config (keys without the namespace); throws one ConfigError listing every problem. */
export function parseConfig(raw: RawConfig): ParsedConfig {
    const found: Findings = { problems: [], warnings: [] };
    const deploy = v.safeParse(settingsSchema.deploy, raw.deploy).output ?? "all";
    // A section set under a misspelt key (Target, stagingAcounts) is one problem, the misspelling, not also a missing section.
    const misspelt = new Set(Object.keys(raw).flatMap((key) => (isSection(key) ? [] : [closest(key, sections)].filter(isSection))));
    const meantOnly = (section: Section) => raw[section] === undefined && misspelt.has(section);
    const read: Record<string, unknown> = {};
    for (const section of sections) {
        // A side this stack does not deploy is not read; target and targets are judged together (targetProblems).
        if (section === "stagingAccounts" ? deploy === "target" : section === "stagingStacks" && deploy !== "target") continue;
        if ((section === "target" || section === "targets") && raw[section] === undefined) continue;
        if (meantOnly(section)) continue;
        read[section] = readValue(settingsSchema[section], raw[section], section, found);
    }
    const targetMisspelt = meantOnly("target") || meantOnly("targets");
    found.problems.push(...(targetMisspelt ? [] : targetProblems(raw, deploy)), ...topLevelProblems(raw));
    if (raw.stagingAccounts === undefined && deploy !== "target" && !dotted(raw, "stagingAccounts") && !meantOnly("stagingAccounts"))
        read.stagingAccounts = [];
    for (const rule of rules) rule(read as ReadSettings, found);
    if (found.problems.length > 0) throw new ConfigError(found.problems.map((p) => `${configNamespace}:${p}`));
    const settings = normalised(read as Settings);
    advice(settings, raw, found);
    return { settings, warnings: found.warnings };
}

/**
 * One section's value; its problems, with their full key, go to `found`. A value with problems
 * still gives what reads well in it (valibot's output less the values with problems, a list
 * keeping their places), so the rules between settings judge the rest.
 */
function readValue(schema: v.GenericSchema, value: unknown, section: string, found: Findings): unknown {
    const { output, issues = [] } = v.safeParse(schema, value);
    const pathKeys = (issue: v.BaseIssue<unknown>) => (issue.path ?? []).map(({ key }) => key as string | number);
    // A key of any length or characters is named safely: plain as .name, otherwise as JSON writes it, cut short.
    const pathOf = (keys: (string | number)[]) => section + keys.map(pathStep).join("");
    // Every unknown key of each mapping (valibot names only the first), where valibot names the first.
    const strays = unknownKeys(schema, value);
    const parentOf = (keys: (string | number)[]) => pathOf(keys.slice(0, -1));
    type Reported = { keys: (string | number)[]; message: string; issue?: v.BaseIssue<unknown> };
    const reported = issues.flatMap((issue): Reported[] => {
        if (!(issue.type === "strict_object" && issue.expected === "never"))
            return [{ keys: pathKeys(issue), message: issue.message, issue }];
        const parent = parentOf(pathKeys(issue));
        return strays.filter(({ keys }) => parentOf(keys) === parent);
    });
    // A misspelt key is one problem, with a suggestion (group() adds it), not two: unknown, and the real one missing.
    const meant = reported.flatMap(({ keys, message }) => {
        const key = / Did you mean (\w+)\?$/.exec(message)?.[1];
        return key ? [pathOf([...keys.slice(0, -1), key])] : [];
    });
    for (const { keys, message, issue } of reported) {
        const required = issue?.expected === "required" || (issue?.type === "strict_object" && issue.received === "undefined");
        if (!(required && meant.includes(pathOf(keys)))) found.problems.push(`${pathOf(keys)} ${message}`);
    }
    for (const keys of issues.map(pathKeys)) {
        if (keys.length === 0) return undefined;
        const parent = keys
            .slice(0, -1)
            .reduce<unknown>((node, key) => (node as Record<string | number, unknown> | undefined)?.[key], output);
        if (Array.isArray(parent)) parent[keys.at(-1) as number] = undefined;
        else if (parent && typeof parent === "object") delete (parent as Record<string, unknown>)[keys.at(-1)!];
    }
    return output;
}

/** A prices file, read as the `pricing` setting is: its figures, or its problems, each naming its key. */
export function readPricing(value: unknown): { pricing?: Settings["pricing"]; problems: string[] } {
    const found: Findings = { problems: [], warnings: [] };
    const pricing = readValue(settingsSchema.pricing, value, "pricing", found) as Settings["pricing"];
    return { pricing, problems: found.problems.map((p) => p.replace(/^pricing\.?/, "")) };
}

/** Exactly one of target and targets; a target stack deploys one account. */
function targetProblems(raw: RawConfig, deploy: unknown): string[] {
    const [target, targets] = [raw.target !== undefined || dotted(raw, "target"), raw.targets !== undefined || dotted(raw, "targets")];
    if (deploy === "target" && targets) {
        return [
            "targets is for staging-side stacks: a target stack (deploy: target) deploys one recovery account. Set target to it instead.",
        ];
    }
    if (target && targets) {
        return [
            "target and targets are both set: set target for one recovery account, or list every recovery account in targets (and remove target).",
        ];
    }
    if (!target && !targets)
        return ['target is required: at least { accountId: "<12 digits>" } of the recovery account (or targets, to list several).'];
    return [];
}

const dotted = (raw: RawConfig, section: string) => Object.keys(raw).some((key) => key.startsWith(`${section}.`));

/** Unknown top-level keys: a typo gets a suggestion, a dotted key explains `pulumi config set --path`. */
function topLevelProblems(raw: RawConfig): string[] {
    return Object.keys(raw)
        .filter((key) => !(sections as string[]).includes(key))
        .map((key) => {
            const [head] = key.split(".");
            if (key.includes(".") && (sections as string[]).includes(head)) {
                const named = shownKey(key);
                return (
                    `${named} is set as one key whose name contains a dot, not as ${head}'s setting: set it with ` +
                    `\`pulumi config set --path '${configNamespace}:${named}' <value>\`, and remove this key (\`pulumi config rm '${configNamespace}:${named}'\`).`
                );
            }
            const meant = closest(key, sections);
            return `${shownKey(key)} is not a setting of this program. Known keys: ${sections.join(", ")}.${meant ? ` Did you mean ${meant}?` : ""}`;
        });
}

/**
 * `target` becomes a list of one in `targets`, and `target` is the first of `targets`; role ARNs in
 * keyUserRoleNames become the names IAM attaches by; a key ARN to adopt becomes its key ID.
 */
function normalised(s: Settings): Settings {
    const targets = (s.targets ?? [s.target]).map((target) => ({
        ...target,
        keyUserRoleNames: target.keyUserRoleNames.map((name) => parseRoleArn(name)?.name ?? name),
    }));
    return {
        ...s,
        target: targets[0],
        targets,
        stagingAccounts: (s.stagingAccounts ?? []).map((e) =>
            e.importKeyId ? { ...e, importKeyId: parseKeyArn(e.importKeyId)?.keyId ?? e.importKeyId } : e,
        ),
    };
}
