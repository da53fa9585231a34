// Stack config -> typed, validated settings. The settings are declared once (schema.ts), the rules
// between them are small named functions (rules.ts); every problem is reported at once, each
// naming its full key and the fix, before any resource is registered.
import * as pulumi from "@pulumi/pulumi";
import * as v from "valibot";
import { KeyPlacement, TargetAccess, parseKeyArn, parseRoleArn } from "../components/policies";
import { advice } from "./advice";
import { Findings, ReadSettings, duplicatePlaces, policyPlanProblem, rules } from "./rules";
import { Settings, TargetSettings, settingsSchema, stagingEntry } from "./schema";

export { secretPlaceholder } from "./schema";
export { keysOfTarget, targetsOfKey } from "./rules";
export type {
    DeployMode,
    IdentityCenterSettings,
    KeySettings,
    LaunchSettings,
    ReplicationSettings,
    Settings,
    StagingEntry,
    TargetSettings,
} from "./schema";

export const configNamespace = "drs-cross-account-kms";

/** Raw config values by key (without the namespace), objects already parsed. */
export type RawConfig = Record<string, unknown>;

export interface ParsedConfig {
    settings: Settings;
    warnings: string[];
}

export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(
            `Invalid stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

type Section = keyof typeof settingsSchema;
const sections = Object.keys(settingsSchema) as Section[];

/** Parses and validates raw config (keys without the namespace); throws one ConfigError listing every problem. */
export function parseConfig(raw: RawConfig): ParsedConfig {
    const found: Findings = { problems: [], warnings: [] };
    const deploy = v.safeParse(settingsSchema.deploy, raw.deploy).output ?? "all";
    const read: ReadSettings = {};
    for (const section of sections) {
        // A side this stack does not deploy is not read.
        if (section === "stagingAccounts" && deploy === "target") continue;
        if (section === "stagingStacks" && deploy !== "target") continue;
        if ((section === "target" || section === "targets") && raw[section] === undefined) continue;
        if (section === "stagingAccounts" && Array.isArray(raw.stagingAccounts)) {
            read.stagingAccounts = raw.stagingAccounts.map((item, i) => readValue(stagingEntry, item, `stagingAccounts[${i}]`, found));
            continue;
        }
        (read as Record<string, unknown>)[section] = readValue(settingsSchema[section], raw[section], section, found);
    }
    found.problems.push(...targetProblems(raw, deploy), ...topLevelProblems(raw));
    if (raw.stagingAccounts === undefined && deploy !== "target" && !dotted(raw, "stagingAccounts")) read.stagingAccounts = [];
    for (const rule of rules) rule(read, found);
    if (found.problems.length > 0) throw new ConfigError(found.problems.map((p) => `${configNamespace}:${p}`));
    const settings = normalised(read as Settings);
    advice(settings, raw, found);
    return { settings, warnings: found.warnings };
}

/**
 * One section's value; its problems, with their full key, go to `found`. A value with problems
 * still gives what reads well in it (salvage), so the rules between settings judge the rest.
 */
function readValue<S extends v.GenericSchema>(schema: S, value: unknown, path: string, found: Findings): v.InferOutput<S> | undefined {
    const result = v.safeParse(schema, value);
    if (result.success) return result.output;
    const partial = salvage(schema, value) as v.InferOutput<S> | undefined;
    const issues = result.issues.map((issue) => ({
        path: path + (issue.path ?? []).map((item) => (typeof item.key === "number" ? `[${item.key}]` : `.${String(item.key)}`)).join(""),
        message: issue.message,
        unknownKey: issue.type === "strict_object" && issue.expected === "never" ? (JSON.parse(issue.received) as string) : undefined,
        required: issue.expected === "required" || (issue.type === "strict_object" && issue.received === "undefined"),
    }));
    // A misspelt key is one problem, with a suggestion, not two (unknown, and the real one missing).
    const dropped = new Set<string>();
    for (const issue of issues) {
        if (!issue.unknownKey) continue;
        const parent = issue.path.slice(0, issue.path.length - issue.unknownKey.length - 1);
        const meant = closest(issue.unknownKey, knownKeysAt(schema, parent.slice(path.length)));
        if (!meant) continue;
        issue.message += ` Did you mean ${meant}?`;
        dropped.add(`${parent}.${meant}`);
    }
    found.problems.push(...issues.filter((i) => !(i.required && dropped.has(i.path))).map((i) => `${i.path} ${i.message}`));
    return partial;
}

type SchemaNode = { type?: string; entries?: Record<string, unknown>; item?: unknown; wrapped?: unknown; pipe?: unknown[] };

/** The mapping or list under a setting's pipes and optional wrappers. */
function unwrap(schema: unknown): SchemaNode {
    let node = schema as SchemaNode;
    for (;;) {
        if (node.pipe && node.type !== "strict_object" && node.type !== "array") node = node.pipe[0] as SchemaNode;
        else if (node.wrapped) node = node.wrapped as SchemaNode;
        else return node;
    }
}

/** What reads well in a value with problems: the good settings of a mapping, the good items of a list (bad ones undefined). */
function salvage(schema: unknown, value: unknown): unknown {
    const result = v.safeParse(schema as v.GenericSchema, value);
    if (result.success) return result.output;
    const node = unwrap(schema);
    if (node.type === "strict_object" && value !== null && typeof value === "object" && !Array.isArray(value)) {
        const entries = Object.entries(node.entries ?? {}).map(([key, entry]) => [
            key,
            salvage(entry, (value as Record<string, unknown>)[key]),
        ]);
        return Object.fromEntries(entries.filter(([, x]) => x !== undefined));
    }
    if (node.type === "array" && Array.isArray(value)) return value.map((item) => salvage(node.item, item));
    return undefined;
}

/** The setting keys of the mapping at `path` (such as `[0].replication`) inside a schema. */
function knownKeysAt(schema: unknown, path: string): string[] {
    let node = unwrap(schema);
    for (const step of path.match(/\[\d+\]|[^.[\]]+/g) ?? []) {
        const next = step.startsWith("[") ? node.item : node.entries?.[step];
        if (!next) return [];
        node = unwrap(next);
    }
    return Object.keys(node.entries ?? {});
}

/** The candidate within two edits of `word` (case aside; swapping two neighbours is one edit), if there is exactly one nearest. */
export function closest(word: string, candidates: string[]): string | undefined {
    // Optimal string alignment: Levenshtein plus the transposition typing makes most.
    const distance = (a: string, b: string) => {
        const d = Array.from({ length: a.length + 1 }, (_, i) =>
            Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
        );
        for (let i = 1; i <= a.length; i++) {
            for (let j = 1; j <= b.length; j++) {
                const cost = a[i - 1] === b[j - 1] ? 0 : 1;
                d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
        return d[a.length][b.length];
    };
    const scored = candidates.map((c) => ({ c, d: distance(word.toLowerCase(), c.toLowerCase()) })).filter((x) => x.d <= 2 && x.d > 0);
    const best = Math.min(...scored.map((x) => x.d));
    const nearest = scored.filter((x) => x.d === best);
    return nearest.length === 1 ? nearest[0].c : undefined;
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
                return (
                    `${key} is set as one key whose name contains a dot, not as ${head}'s setting: set it with ` +
                    `\`pulumi config set --path '${configNamespace}:${key}' <value>\`, and remove this key (\`pulumi config rm '${configNamespace}:${key}'\`).`
                );
            }
            const meant = closest(key, sections);
            return `${key} is not a setting of this program. Known keys: ${sections.join(", ")}.${meant ? ` Did you mean ${meant}?` : ""}`;
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

/**
 * Parses a whole stack config: full keys (`drs-cross-account-kms:deploy`, `aws:region`), values as
 * the stack file or the engine gives them (objects parsed, secretPlaceholder for what cannot be
 * decrypted). A key of a namespace one or two letters off this program's, or one of this program's
 * keys under another namespace, is a problem: the program would never read it.
 */
export function parseStackConfig(config: Record<string, unknown>): ParsedConfig {
    const astray = Object.keys(config).flatMap((full) => {
        const [namespace, key] = [full.slice(0, full.indexOf(":")), full.slice(full.indexOf(":") + 1)];
        if (namespace === configNamespace || ["aws", "aws-native", "pulumi"].includes(namespace)) return [];
        const nearName = closest(namespace, [configNamespace]) !== undefined;
        const ours = (sections as string[]).includes(key.split(".")[0]);
        if (!nearName && !ours) return [];
        return [
            `${full} is under the namespace "${namespace}", which this program never reads: ` +
                `did you mean ${configNamespace}:${key}? (pulumi config set ${nearName ? "" : "--path "}'${configNamespace}:${key}' ...)`,
        ];
    });
    let parsed: ParsedConfig | undefined;
    let problems = astray;
    try {
        parsed = parseConfig(programConfig(config));
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        problems = [...astray, ...err.problems];
    }
    if (problems.length > 0) throw new ConfigError(problems);
    return parsed!;
}

/** This program's keys of a stack's config (full keys, such as `drs-cross-account-kms:deploy`), without the namespace. */
export function programConfig(config: Record<string, unknown>): RawConfig {
    const prefix = `${configNamespace}:`;
    return Object.fromEntries(
        Object.entries(config)
            .filter(([key]) => key.startsWith(prefix))
            .map(([key, value]) => [key.slice(prefix.length), value]),
    );
}

/**
 * Reads and validates the running stack's config (objects arrive JSON-encoded, plain strings as
 * they are). Problems end the program with one message and no stack trace (pulumi.RunError);
 * warnings go to the Pulumi log.
 */
export function readStackConfig(): Settings {
    const decode = (value: string): unknown => {
        try {
            return JSON.parse(value);
        } catch {
            return value;
        }
    };
    try {
        const config = Object.fromEntries(Object.entries(pulumi.runtime.allConfig()).map(([key, value]) => [key, decode(value)]));
        const { settings, warnings } = parseStackConfig(config);
        for (const warning of warnings) pulumi.log.warn(warning);
        return settings;
    } catch (err) {
        if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
        throw err;
    }
}

/** What a staging stack exports per key, in its `stagingKeys` output; the target stack reads it. */
export interface StagingKeyExport {
    accountId: string;
    region: string;
    keyId: string;
    keyArn: string;
    aliasName: string;
    stagingRoleArn: string;
    replicationTemplateId?: string;
    alertTopicArn?: string;
    /** A multi-Region key's part: the family's primary, or a replica of it; absent for a single-Region key. */
    multiRegionKey?: "primary" | "replica";
    /** With several targets: the targets this key serves, and each one's staging role (stagingRoleArn is the first's). */
    targetAccountIds?: string[];
    stagingRoleArns?: Record<string, string>;
}

/** The outputs of one staging stack, as read through a StackReference. */
export interface StagingStackOutputs {
    stack: string;
    targetAccountId: unknown;
    /** Set by a staging stack of several targets. */
    targetAccountIds?: unknown;
    targetAccess: unknown;
    stagingKeys: unknown;
}

/**
 * Checks what the staging stacks exported against the target settings, with the detections
 * parseConfig applies to stagingAccounts, and returns the keys that serve this target (each with
 * this target's staging role); throws a ConfigError. A stack of several targets serves this one
 * if it lists it.
 */
export function checkStagingStackOutputs(
    stacks: StagingStackOutputs[],
    target: TargetSettings,
    targetAccess: TargetAccess,
): StagingKeyExport[] {
    const problems: string[] = [];
    const keys: (StagingKeyExport & { stack: string; path: string })[] = [];
    const served: StagingKeyExport[] = [];
    stacks.forEach(({ stack, targetAccountId, targetAccountIds, targetAccess: stackAccess, stagingKeys }, i) => {
        const path = `stagingStacks[${i}] "${stack}"`;
        const targets = Array.isArray(targetAccountIds) ? targetAccountIds : [targetAccountId];
        if (!targets.includes(target.accountId)) {
            problems.push(
                `${path} was deployed for target account${targets.length > 1 ? "s" : ""} ${targets.map((t) => JSON.stringify(t)).join(", ")}, not ${target.accountId}. ` +
                    "Point stagingStacks at stacks deployed for this target, or add it to the staging stack's targets.",
            );
            return;
        }
        // The target policy grants exactly what the key policies grant: both must use one mode.
        if (stackAccess !== targetAccess) {
            problems.push(
                `${path} shares its keys with key.targetAccess ${JSON.stringify(stackAccess)}, but this stack has "${targetAccess}". Set the same key.targetAccess in both stacks.`,
            );
        }
        if (!Array.isArray(stagingKeys) || stagingKeys.length === 0) {
            problems.push(`${path} exports no stagingKeys. Run \`pulumi up\` on it (deploy: staging) first.`);
            return;
        }
        const forThisTarget = (stagingKeys as StagingKeyExport[]).filter(
            (key) => !key.targetAccountIds || key.targetAccountIds.includes(target.accountId),
        );
        if (forThisTarget.length === 0) {
            problems.push(
                `${path} has no key that serves ${target.accountId}: none is in a Region that target recovers. Check its targets' regions.`,
            );
        }
        for (const exported of forThisTarget) {
            const key = { ...exported, stagingRoleArn: exported.stagingRoleArns?.[target.accountId] ?? exported.stagingRoleArn };
            served.push(key);
            keys.push({ ...key, stack, path });
            if (target.regions && !target.regions.includes(key.region)) {
                problems.push(`${path} has a key in ${key.region}, which is not in target.regions. Add ${key.region} to target.regions.`);
            }
        }
    });
    for (const { place, first } of duplicatePlaces(keys)) {
        problems.push(
            `${place.path} exports a key for ${place.accountId} in ${place.region}, as "${first.stack}" does. Keep one stack per staging account and Region.`,
        );
    }
    // Judge Regions and sizes only on stacks that read well, so one wrong stack is one message.
    if (problems.length === 0) problems.push(...keysServeTheTarget(target, targetAccess, keys));
    if (problems.length > 0) throw new ConfigError(problems.map((p) => `${configNamespace}:${p}`));
    return served;
}

/** The staging stacks' keys against the target's Regions, launch settings and policy sizes. */
function keysServeTheTarget(target: TargetSettings, targetAccess: TargetAccess, keys: KeyPlacement[]): string[] {
    const keyRegions = new Set(keys.map((k) => k.region));
    const problems = (target.regions ?? []).flatMap((region, i) =>
        keyRegions.has(region)
            ? []
            : [
                  `target.regions[${i}] "${region}" has no staging key in the staging stacks. KMS keys are regional; ` +
                      `add a staging entry in ${region} to a staging stack, or remove it from target.regions.`,
              ],
    );
    const sizing = policyPlanProblem(target, keys, targetAccess);
    if (sizing) problems.push(`stagingStacks ${sizing}`);
    target.launch.forEach((launch, i) => {
        if (!keyRegions.has(launch.region)) {
            problems.push(
                `target.launch[${i}].region "${launch.region}" has no staging key in the staging stacks: DRS recovers extended source servers in their staging Region.`,
            );
        }
    });
    return problems;
}
