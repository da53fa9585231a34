// The staging stacks' outputs, the contract between the sides: what a staging stack exports per
// key (stagingKeys), how a target stack reads and checks them, and how the live commands read the
// keys of any deployed stack's outputs.
import type { KeyPlacement, TargetAccess, WayBack } from "../components/policies";
import { ConfigError, UsageError } from "../config/errors";
import { duplicatePlaces, policyPlanProblem } from "../config/rules";
import { StagingEntry, TargetSettings, configNamespace } from "../config/schema";

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
    /** The entry's failback setting: where its servers return to after a recovery. */
    wayBack?: WayBack;
}

/** An entry's way back as its key exports it: the origin defaults to the entry's own account and Region. */
export function wayBackOf(entry: StagingEntry): WayBack | undefined {
    const back = entry.failback;
    if (!back) return undefined;
    if (back.to === "on-premises") return { to: back.to };
    return {
        to: back.to,
        originAccountId: back.accountId ?? entry.accountId,
        originRegion: back.region ?? entry.region,
        ...(back.networkReplication ? { networkReplication: true } : {}),
    };
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
    // Whether every stack's keys were read: only then is a Region without a key missing one, not unread.
    let everyStackRead = true;
    stacks.forEach(({ stack, targetAccountId, targetAccountIds, targetAccess: stackAccess, stagingKeys }, i) => {
        const path = `stagingStacks[${i}] "${stack}"`;
        const targets = Array.isArray(targetAccountIds) ? targetAccountIds : [targetAccountId];
        if (!targets.includes(target.accountId)) {
            everyStackRead = false;
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
            everyStackRead = false;
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
    // Every Region's problems at once once every stack's keys were read (a stack not read would
    // leave its Regions keyless: one wrong stack is one message); sizes only on stacks that read well.
    const sized = problems.length === 0;
    if (everyStackRead) problems.push(...keysInTheTargetsRegions(target, keys));
    if (sized) {
        const sizing = policyPlanProblem(target, keys, targetAccess);
        if (sizing) problems.push(`stagingStacks ${sizing}`);
    }
    if (problems.length > 0) throw new ConfigError(problems.map((p) => `${configNamespace}:${p}`));
    return served;
}

/** The staging stacks' keys against the target's Regions and launch settings: every Region without a key. */
function keysInTheTargetsRegions(target: TargetSettings, keys: KeyPlacement[]): string[] {
    const keyRegions = new Set(keys.map((k) => k.region));
    return [
        ...(target.regions ?? []).flatMap((region, i) =>
            keyRegions.has(region)
                ? []
                : [
                      `target.regions[${i}] "${region}" has no staging key in the staging stacks. KMS keys are regional; ` +
                          `add a staging entry in ${region} to a staging stack, or remove it from target.regions.`,
                  ],
        ),
        ...target.launch.flatMap((launch, i) =>
            keyRegions.has(launch.region)
                ? []
                : [
                      `target.launch[${i}].region "${launch.region}" has no staging key in the staging stacks: DRS recovers extended source servers in their staging Region.`,
                  ],
        ),
    ];
}

/** The outputs have no keys: a command that reads them cannot start (exit code 2). */
export class NoStagingKeys extends UsageError {}

/** The keys of a deployed stack's outputs (`pulumi stack output --json`), for the live commands. */
export function stagingKeysOf(outputs: Record<string, unknown>): StagingKeyExport[] {
    const keys = outputs.stagingKeys;
    if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k?.keyArn === "string")) {
        throw new NoStagingKeys(
            "The stack outputs have no stagingKeys: pass the output of `pulumi stack output --json` of a deployed stack.",
        );
    }
    return keys as StagingKeyExport[];
}
