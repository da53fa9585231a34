// Stack config -> typed, validated settings. The settings are declared once (schema.ts), the rules
// between them are small named functions (rules.ts); every problem is reported at once, each
// naming its full key and the fix, before any resource is registered.
import * as pulumi from "@pulumi/pulumi";
import * as v from "valibot";
import { KeyPlacement, TargetAccess, parseKeyArn, parseRoleArn } from "../components/policies";
import { advice } from "./advice";
import { Findings, ReadSettings, duplicatePlaces, policyPlanProblem, rules } from "./rules";
import { Settings, TargetSettings, closest, pathStep, settingsSchema, shown, shownKey } from "./schema";

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
    const read: Record<string, unknown> = {};
    for (const section of sections) {
        // A side this stack does not deploy is not read; target and targets are judged together (targetProblems).
        if (section === "stagingAccounts" ? deploy === "target" : section === "stagingStacks" && deploy !== "target") continue;
        if ((section === "target" || section === "targets") && raw[section] === undefined) continue;
        read[section] = readValue(settingsSchema[section], raw[section], section, found);
    }
    found.problems.push(...targetProblems(raw, deploy), ...topLevelProblems(raw));
    if (raw.stagingAccounts === undefined && deploy !== "target" && !dotted(raw, "stagingAccounts")) read.stagingAccounts = [];
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
    const keysOf = (issue: v.BaseIssue<unknown>) => (issue.path ?? []).map(({ key }) => key as string | number);
    // A key of any length or characters is named safely: plain as .name, otherwise as JSON writes it, cut short.
    const pathOf = (keys: (string | number)[]) => section + keys.map(pathStep).join("");
    // A misspelt key is one problem, with a suggestion (group() adds it), not two: unknown, and the real one missing.
    const meant = issues.flatMap((issue) => {
        const key = / Did you mean (\w+)\?$/.exec(issue.message)?.[1];
        return key ? [pathOf([...keysOf(issue).slice(0, -1), key])] : [];
    });
    for (const issue of issues) {
        const required = issue.expected === "required" || (issue.type === "strict_object" && issue.received === "undefined");
        if (!(required && meant.includes(pathOf(keysOf(issue))))) found.problems.push(`${pathOf(keysOf(issue))} ${issue.message}`);
    }
    for (const keys of issues.map(keysOf)) {
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
        const named = shownKey(key);
        return [
            `${shownKey(full)} is under the namespace ${shown(namespace)}, which this program never reads: ` +
                `did you mean ${configNamespace}:${named}? (pulumi config set ${nearName ? "" : "--path "}'${configNamespace}:${named}' ...)`,
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
        Object.entries(config).flatMap(([key, value]) => (key.startsWith(prefix) ? [[key.slice(prefix.length), value]] : [])),
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
        const { settings, warnings } = parseStackConfig(
            Object.fromEntries(Object.entries(pulumi.runtime.allConfig()).map(([key, value]) => [key, decode(value)])),
        );
        for (const warning of warnings) pulumi.log.warn(warning);
        return settings;
    } catch (err) {
        throw err instanceof ConfigError ? new pulumi.RunError(err.message) : err;
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

/** The outputs of one staging stack, as read through a StackReference; `targetAccountIds` is set by a stack of several targets. */
export interface StagingStackOutputs {
    stack: string;
    targetAccountId: unknown;
    targetAccountIds?: unknown;
    targetAccess: unknown;
    stagingKeys: unknown;
}

/**
 * Checks what the staging stacks exported against the target settings, with the detections
 * parseConfig applies to stagingAccounts, and returns the keys that serve this target (a stack of
 * several targets serves those it lists), each with this target's staging role. Throws a ConfigError.
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
            return problems.push(
                `${path} was deployed for target account${targets.length > 1 ? "s" : ""} ${targets.map((t) => JSON.stringify(t)).join(", ")}, not ${target.accountId}. ` +
                    "Point stagingStacks at stacks deployed for this target, or add it to the staging stack's targets.",
            );
        }
        // The target policy grants exactly what the key policies grant: both must use one mode.
        if (stackAccess !== targetAccess) {
            problems.push(
                `${path} shares its keys with key.targetAccess ${JSON.stringify(stackAccess)}, but this stack has "${targetAccess}". Set the same key.targetAccess in both stacks.`,
            );
        }
        if (!Array.isArray(stagingKeys) || stagingKeys.length === 0) {
            return problems.push(`${path} exports no stagingKeys. Run \`pulumi up\` on it (deploy: staging) first.`);
        }
        const forThisTarget = (stagingKeys as StagingKeyExport[]).filter((key) => key.targetAccountIds?.includes(target.accountId) ?? true);
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
    const sizing = policyPlanProblem(target, keys, targetAccess);
    return [
        ...(target.regions ?? []).flatMap((region, i) =>
            keyRegions.has(region)
                ? []
                : [
                      `target.regions[${i}] "${region}" has no staging key in the staging stacks. KMS keys are regional; ` +
                          `add a staging entry in ${region} to a staging stack, or remove it from target.regions.`,
                  ],
        ),
        ...(sizing ? [`stagingStacks ${sizing}`] : []),
        ...target.launch.flatMap((launch, i) =>
            keyRegions.has(launch.region)
                ? []
                : [
                      `target.launch[${i}].region "${launch.region}" has no staging key in the staging stacks: DRS recovers extended source servers in their staging Region.`,
                  ],
        ),
    ];
}
