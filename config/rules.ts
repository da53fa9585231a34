// Rules that relate settings to each other, each a small named function. They see the settings
// that read well (an entry with a problem of its own is left out), so every problem is reported in
// one pass without follow-on noise. The staging stacks' outputs are judged by the same detections.
import {
    KeyPlacement,
    arnPartition,
    buildKeyPolicy,
    drsStagingRoleName,
    targetAccountTag,
    drsStagingRolePath,
    isKnownRegion,
    knownRegions,
    parseIdentityCenterInstanceArn,
    parseKeyArn,
    parsePermissionSetArn,
    parseRoleArn,
    partitionOf,
    planTargetKeyUsePolicies,
} from "../components/policies";
import { Settings, StagingEntry, TargetSettings, secretPlaceholder } from "./schema";

/**
 * What reads well of the settings: a setting with a problem of its own is missing (so is an item
 * of a list), which the rules take as unknown rather than judge again.
 */
export type ReadSettings = DeepPartial<Settings>;
type DeepPartial<T> = T extends (infer I)[]
    ? (DeepPartial<I> | undefined)[]
    : T extends object
      ? { [K in keyof T]?: DeepPartial<T[K]> }
      : T;

export interface Findings {
    /** `key message` lines, the key without the namespace. */
    problems: string[];
    warnings: string[];
}

type Rule = (s: ReadSettings, found: Findings) => void;

const known = (value: string | undefined): value is string => value !== undefined && value !== secretPlaceholder;
const entriesOf = (s: ReadSettings) =>
    (s.stagingAccounts ?? []).flatMap((entry, i) => (entry ? [{ entry, path: `stagingAccounts[${i}]`, i }] : []));
/** Every recovery account that reads well with its key: `target`, or each item of `targets`. */
const targetsOf = (s: ReadSettings) =>
    s.targets
        ? items(s.targets).map(({ item, i }) => ({ target: item, path: `targets[${i}]` }))
        : s.target
          ? [{ target: s.target, path: "target" }]
          : [];
/** A list's items that read well, with their index. */
const items = <T>(list: (T | undefined)[] | undefined) => (list ?? []).flatMap((item, i) => (item === undefined ? [] : [{ item, i }]));

/** Values listed twice in a list. */
export function repeated(values: string[]): string[] {
    return [...new Set(values.filter((value, i) => values.indexOf(value) !== i))];
}

/** Places (account, Region) named twice, with the first place of each. */
export function duplicatePlaces<T extends KeyPlacement>(places: T[]): { place: T; first: T }[] {
    const seen = new Map<string, T>();
    return places.flatMap((place) => {
        const id = `${place.accountId}/${place.region}`;
        const first = seen.get(id);
        if (first) return [{ place, first }];
        seen.set(id, place);
        return [];
    });
}

/** Whether the target's key-use policies fit a role; the numbers and the way out when they do not. */
export function policyPlanProblem(
    target: Pick<TargetSettings, "maxPoliciesPerRole">,
    keys: KeyPlacement[],
    targetAccess: Settings["key"]["targetAccess"],
): string | undefined {
    try {
        planTargetKeyUsePolicies({ keys, targetAccess, maxPolicies: target.maxPoliciesPerRole });
        return undefined;
    } catch (err) {
        return (err as Error).message;
    }
}

const deployModeNeeds: Rule = (s, found) => {
    const deploy = s.deploy ?? "all";
    if (deploy !== "target" && s.stagingAccounts?.length === 0) {
        found.problems.push("stagingAccounts is required: list one entry per staging account and Region ({ accountId, region }).");
    }
    if (deploy === "target" && s.stagingStacks?.length === 0) {
        found.problems.push(
            "stagingStacks is required with deploy: target: list the staging stacks to read key ARNs from, like organization/drs-cross-account-kms/staging.",
        );
    }
};

const stagingIsNotTarget: Rule = (s, found) => {
    const targets = new Map(targetsOf(s).map(({ target, path }) => [target.accountId, path]));
    for (const { entry, path } of entriesOf(s)) {
        const target = known(entry.accountId) ? targets.get(entry.accountId) : undefined;
        if (target) {
            found.problems.push(
                `${path}.accountId is the ${target === "target" ? "target account" : `account of ${target},`} ${entry.accountId}. A staging account replicates for a different (target) account; use another account.`,
            );
        }
    }
};

const oneKeyPerAccountAndRegion: Rule = (s, found) => {
    const places = entriesOf(s).flatMap(({ entry, path }) =>
        known(entry.accountId) && known(entry.region) ? [{ accountId: entry.accountId, region: entry.region, path }] : [],
    );
    for (const { place, first } of duplicatePlaces(places)) {
        found.problems.push(
            `${place.path} repeats account ${place.accountId} in ${place.region} (${first.path}): one key per account and Region. Remove one entry.`,
        );
    }
};

/** One provider and one staging role per account: its entries agree on both. */
const entriesOfAnAccountAgree: Rule = (s, found) => {
    const firstOf = new Map<string, { entry: DeepPartial<StagingEntry>; path: string }>();
    for (const { entry, path } of entriesOf(s)) {
        if (!known(entry.accountId)) continue;
        const first = firstOf.get(entry.accountId);
        if (!first) {
            firstOf.set(entry.accountId, { entry, path });
            continue;
        }
        if (first.entry.roleArn !== entry.roleArn) {
            found.problems.push(
                `${path}.roleArn differs from ${first.path}.roleArn for the same account ${entry.accountId}. Use one role per account.`,
            );
        }
        if (first.entry.stagingRole !== entry.stagingRole) {
            found.problems.push(
                `${path}.stagingRole differs from ${first.path}.stagingRole for the same account ${entry.accountId}: the staging role exists once per account.`,
            );
        }
    }
};

/** A provider assumes a role in the account it deploys to; names and ARNs belong where they are used. */
const arnsInTheirAccounts: Rule = (s, found) => {
    const roleIn = (path: string, arn: string | undefined, accountId: string | undefined) => {
        const role = known(arn) ? parseRoleArn(arn) : undefined;
        if (role && known(accountId) && role.accountId !== accountId) {
            found.problems.push(
                `${path} is a role in account ${role.accountId}, but this entry's account is ${accountId}. The provider assumes a role in the account it deploys to.`,
            );
        }
    };
    roleIn("identityCenter.roleArn", s.identityCenter?.roleArn, s.identityCenter?.accountId);
    for (const { target, path } of targetsOf(s)) {
        roleIn(`${path}.roleArn`, target.roleArn, target.accountId);
        for (const { item: name, i } of items(target.keyUserRoleNames)) {
            const role = known(name) ? parseRoleArn(name) : undefined;
            if (role && known(target.accountId) && role.accountId !== target.accountId) {
                found.problems.push(
                    `${path}.keyUserRoleNames[${i}] "${name}" is in account ${role.accountId}, not the target account ${target.accountId}.`,
                );
            }
        }
    }
    for (const { entry, path } of entriesOf(s)) {
        roleIn(`${path}.roleArn`, entry.roleArn, entry.accountId);
        const topic = known(entry.alertTopicArn) ? /^arn:[^:]+:sns:([^:]+):(\d{12}):/.exec(entry.alertTopicArn) : null;
        if (topic && (topic[1] !== entry.region || topic[2] !== entry.accountId)) {
            found.problems.push(
                `${path}.alertTopicArn is in ${topic[2]}/${topic[1]}: EventBridge delivers to a topic in the rule's own account and Region (${entry.accountId}/${entry.region}).`,
            );
        }
        const key = known(entry.importKeyId) ? parseKeyArn(entry.importKeyId) : undefined;
        if (key && (key.accountId !== entry.accountId || key.region !== entry.region)) {
            found.problems.push(
                `${path}.importKeyId is a key in ${key.accountId}/${key.region}, but this entry is ${entry.accountId}/${entry.region}: a key is adopted by the entry of its own account and Region (KMS keys are regional).`,
            );
        }
    }
    const instance = known(s.identityCenter?.instanceArn) ? parseIdentityCenterInstanceArn(s.identityCenter.instanceArn) : undefined;
    for (const { item: arn, i } of items(s.identityCenter?.permissionSetArns)) {
        const permissionSet = known(arn) ? parsePermissionSetArn(arn) : undefined;
        if (instance && permissionSet && permissionSet.instanceId !== instance.instanceId) {
            found.problems.push(
                `identityCenter.permissionSetArns[${i}] belongs to instance ${permissionSet.instanceId}, not ${instance.instanceId} (instanceArn).`,
            );
        }
    }
};

/** A key belongs to one account and, unless it is multi-Region (one mrk- ID in several Regions), to one Region. */
const keysAdoptedOnce: Rule = (s, found) => {
    const first = new Map<string, { entry: DeepPartial<StagingEntry>; path: string }>();
    for (const { entry, path } of entriesOf(s)) {
        if (!known(entry.importKeyId)) continue;
        const id = parseKeyArn(entry.importKeyId)?.keyId ?? entry.importKeyId;
        const earlier = first.get(id);
        if (!earlier) first.set(id, { entry, path });
        else if (!id.startsWith("mrk-") || earlier.entry.accountId !== entry.accountId) {
            found.problems.push(
                `${path}.importKeyId names the key of ${earlier.path} (${earlier.entry.accountId}/${earlier.entry.region}) too: a key belongs to one account and, unless it is multi-Region (mrk-...), to one Region.`,
            );
        }
    }
};

const listsNameEachOnce: Rule = (s, found) => {
    const once = (path: string, values: (string | undefined)[] | undefined) => {
        const twice = repeated((values ?? []).filter(known));
        if (twice.length > 0) found.problems.push(`${path} lists ${twice.join(", ")} more than once.`);
    };
    for (const { target, path } of targetsOf(s)) {
        once(`${path}.regions`, target.regions);
        once(
            `${path}.keyUserRoleNames`,
            target.keyUserRoleNames?.map((name) => (name && parseRoleArn(name)?.name) ?? name),
        );
        once(
            `${path}.launch`,
            target.launch?.map((launch) => launch?.region),
        );
    }
    once(
        "targets (accountId)",
        s.targets?.map((target) => target?.accountId),
    );
    once("identityCenter.permissionSetArns", s.identityCenter?.permissionSetArns);
    once("stagingStacks", s.stagingStacks);
};

/** Every text value of the settings with its key, staging entries first (tags aside: their values are free text). */
function texts(s: ReadSettings): [string, string][] {
    const walk = (value: unknown, path: string): [string, string][] => {
        if (typeof value === "string") return known(value) ? [[path, value]] : [];
        if (Array.isArray(value)) return value.flatMap((item, i) => walk(item, `${path}[${i}]`));
        if (value === null || typeof value !== "object") return [];
        return Object.entries(value).flatMap(([key, item]) => (/tags$/i.test(key) ? [] : walk(item, path ? `${path}.${key}` : key)));
    };
    return walk({ stagingAccounts: s.stagingAccounts, ...s }, "");
}
const regionsOf = (s: ReadSettings) => texts(s).filter(([path]) => /(^|\.)(region|primaryRegion|regions\[\d+\])$/.test(path));

/** Every Region and ARN of a stack in one partition (docs/aws-requirements.md, Partitions). */
const onePartition: Rule = (s, found) => {
    const [anchor, ...regions] = regionsOf(s);
    if (!anchor) return;
    const partition = partitionOf(anchor[1]);
    const arns = texts(s).flatMap(([path, value]): [string, string, string][] =>
        value.startsWith("arn:") ? [[path, value, arnPartition(value)!]] : [],
    );
    for (const [path, value, its] of [...regions.map(([p, r]): [string, string, string] => [p, r, partitionOf(r)]), ...arns]) {
        if (its === partition) continue;
        found.problems.push(
            `${path} ${JSON.stringify(value)} is in partition ${its}, but ${anchor[0]} ${JSON.stringify(anchor[1])} is in ${partition}: ` +
                "nothing crosses partitions, so one stack's accounts, Regions and ARNs are all in one.",
        );
    }
};

/** A Region this version does not list is taken by its name, with a warning (AWS adds Regions). */
const unlistedRegionsWarned: Rule = (s, found) => {
    const area = (region: string) => region.split("-").slice(0, -1).join("-");
    for (const region of new Set(regionsOf(s).map(([, region]) => region))) {
        if (isKnownRegion(region)) continue;
        const near = knownRegions.filter((r) => area(r) === area(region));
        found.warnings.push(
            `${region} is not a Region this version lists; it is taken as a Region of partition ${partitionOf(region)}. ` +
                `Check the spelling${near.length > 0 ? ` (listed: ${near.join(", ")})` : ""}.`,
        );
    }
};

/**
 * KMS keys are regional: each recovery Region needs a key there, and each key a target that
 * recovers its Region. A key serves only the targets that recover its Region.
 */
const recoveryRegionsHaveKeys: Rule = (s, found) => {
    if (s.deploy === "target") return;
    const entries = entriesOf(s);
    const stagingRegions = new Set(entries.map(({ entry }) => entry.region).filter(known));
    const targets = targetsOf(s);
    for (const { target, path } of targets) {
        for (const { item: region, i } of items(target.regions)) {
            if (!known(region) || stagingRegions.has(region)) continue;
            found.problems.push(
                `${path}.regions[${i}] "${region}" has no staging key. KMS keys are regional: a key in ${[...stagingRegions].join(", ") || "another Region"} ` +
                    `is never used through ec2.${region}, and DRS recovers extended source servers in the staging Region. ` +
                    `Add a stagingAccounts entry in ${region}, or remove it from ${path}.regions.`,
            );
        }
    }
    if (targets.length === 0 || targets.some(({ target }) => !target.regions)) return;
    const [where, fix] =
        targets.length === 1
            ? ["target.regions: the target would get", "target.regions"]
            : ["the regions of any target: no target would use", "a target's regions"];
    for (const { entry, path } of entries) {
        if (known(entry.region) && !targets.some(({ target }) => target.regions!.includes(entry.region!))) {
            found.problems.push(
                `${path}.region "${entry.region}" is not in ${where} a key it never recovers with. Add ${entry.region} to ${fix} or remove this entry.`,
            );
        }
    }
};

/** Launch settings only make sense where the target recovers. */
const launchWhereRecovered: Rule = (s, found) => {
    const stagingRegions = s.deploy === "target" ? undefined : entriesOf(s).map(({ entry }) => entry.region);
    for (const { target, path } of targetsOf(s)) {
        const recovery = (target.regions ?? stagingRegions)?.filter(known);
        if (!recovery) continue; // a target stack without target.regions: checked against the staging stacks
        for (const { item: launch, i } of items(target.launch)) {
            if (known(launch.region) && !recovery.includes(launch.region)) {
                found.problems.push(
                    `${path}.launch[${i}].region "${launch.region}" is not a recovery Region (${recovery.join(", ")}): DRS recovers extended source servers in their staging Region.`,
                );
            }
        }
    }
};

/** The keys a target uses: those in its recovery Regions (every key, without target.regions). */
export function keysOfTarget<K extends { region: string }>(target: Pick<TargetSettings, "regions">, keys: K[]): K[] {
    return target.regions ? keys.filter((key) => target.regions!.includes(key.region)) : keys;
}

/** Each target's key-use policies must fit the roles they are attached to (judged once everything else reads well). */
const keyUsePoliciesFit: Rule = (s, found) => {
    if (s.deploy !== "all" || found.problems.length > 0) return;
    const { targets, key, stagingAccounts, identityCenter } = normalisedTargets(s as Settings);
    const counts = targets.map((target, i) => {
        const keys = keysOfTarget(target, stagingAccounts);
        try {
            return planTargetKeyUsePolicies({ keys, targetAccess: key.targetAccess, maxPolicies: target.maxPoliciesPerRole }).length;
        } catch (err) {
            found.problems.push(`stagingAccounts ${targets.length > 1 ? `(for targets[${i}]) ` : ""}${(err as Error).message}`);
            return undefined;
        }
    });
    // A permission set names the same policies in every account it is provisioned to.
    if (identityCenter && new Set(counts.filter((n) => n !== undefined)).size > 1) {
        found.problems.push(
            `identityCenter: the targets' key-use policies split into ${counts.join(", ")} policies, but a permission set names the same policies in every account. ` +
                "Give the targets the same regions, or manage the permission sets of all but one target by hand.",
        );
    }
};

/** Each key's policy, with a statement set per target it serves, fits KMS's limit (judged once everything else reads well). */
const keyPoliciesFit: Rule = (s, found) => {
    if (s.deploy === "target" || found.problems.length > 0) return;
    const { targets, key, stagingAccounts } = normalisedTargets(s as Settings);
    if (targets.length < 2) return;
    stagingAccounts.forEach((entry, i) => {
        const problem = keyTargetsProblem(entry, targetsOfKey(targets, entry), key.targetAccess);
        if (problem) found.problems.push(`stagingAccounts[${i}] ${problem}`);
    });
};

/** The targets one staging key serves: those that recover its Region. */
export function targetsOfKey<T extends Pick<TargetSettings, "regions">>(targets: T[], key: { region: string }): T[] {
    return targets.filter((target) => !target.regions || target.regions.includes(key.region));
}

/** Whether a key policy serving these targets fits KMS's limit; the numbers when it does not. */
export function keyTargetsProblem(
    entry: Pick<StagingEntry, "accountId" | "region">,
    targets: Pick<TargetSettings, "accountId">[],
    targetAccess: Settings["key"]["targetAccess"],
): string | undefined {
    const partition = partitionOf(entry.region);
    const [first, ...additionalTargets] = targets.map(({ accountId }) => ({
        targetAccountId: accountId,
        stagingRoleArn: `arn:${partition}:iam::${entry.accountId}:role${drsStagingRolePath}${drsStagingRoleName(accountId)}`,
        // The length IAM gives unique IDs: the policy Id carries one per target.
        stagingRoleUniqueId: `AROA${"0".repeat(17)}`,
    }));
    try {
        buildKeyPolicy({ ...first, stagingAccountId: entry.accountId, region: entry.region, targetAccess, additionalTargets });
        targetAccountTag(targets.map((t) => t.accountId));
        return undefined;
    } catch (err) {
        const why = (err as Error).message.replace(/^Cannot build the DRS key policy: /, "");
        return `cannot serve all ${targets.length} targets with one key: ${why} Give some targets regions without this one, or serve them from other staging accounts.`;
    }
}

/** `target` as a list of one, for rules judged on settings that read well. */
function normalisedTargets(s: Settings): Settings {
    return { ...s, targets: s.targets ?? [s.target] };
}

export const rules: Rule[] = [
    deployModeNeeds,
    stagingIsNotTarget,
    oneKeyPerAccountAndRegion,
    entriesOfAnAccountAgree,
    arnsInTheirAccounts,
    keysAdoptedOnce,
    listsNameEachOnce,
    onePartition,
    unlistedRegionsWarned,
    recoveryRegionsHaveKeys,
    launchWhereRecovered,
    keyUsePoliciesFit,
    keyPoliciesFit,
];
