// Rules that relate settings to each other, each a small named function. They see what reads well
// of the settings (a value with a problem of its own is missing), so every problem is reported in
// one pass without follow-on noise. The staging stacks' outputs are judged by the same detections.
import {
    KeyPlacement,
    arnPartition,
    buildKeyPolicy,
    drsStagingRoleName,
    drsStagingRolePath,
    isKnownRegion,
    knownRegions,
    parseIdentityCenterInstanceArn,
    parseKeyArn,
    parsePermissionSetArn,
    parseRoleArn,
    partitionOf,
    planTargetKeyUsePolicies,
    targetAccountTag,
} from "../components/policies";
import { Settings, StagingEntry, TargetSettings } from "./schema";
import { secretPlaceholder } from "./settings";
import { closest, editsApart, shown } from "./text";

/** What reads well of the settings: a setting with a problem of its own is missing (an item of a list is undefined). */
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
type TargetAccess = Settings["key"]["targetAccess"];

const known = (value: string | undefined): value is string => value !== undefined && value !== secretPlaceholder;
/** A list's items that read well, with their index. */
const items = <T>(list: (T | undefined)[] | undefined) => (list ?? []).flatMap((item, i) => (item === undefined ? [] : [{ item, i }]));
const entriesOf = (s: ReadSettings) => items(s.stagingAccounts).map(({ item, i }) => ({ entry: item, path: `stagingAccounts[${i}]` }));
/** Every recovery account that reads well, with its key: `target`, or each item of `targets`. */
const targetsOf = (s: ReadSettings) =>
    s.targets
        ? items(s.targets).map(({ item, i }) => ({ target: item, path: `targets[${i}]` }))
        : s.target
          ? [{ target: s.target, path: "target" }]
          : [];

/** Places (account, Region) named twice, with the first place of each. */
export function duplicatePlaces<T extends KeyPlacement>(places: T[]): { place: T; first: T }[] {
    const seen = new Map<string, T>();
    return places.flatMap((place) => {
        const first = seen.get(`${place.accountId}/${place.region}`);
        if (!first) seen.set(`${place.accountId}/${place.region}`, place);
        return first ? [{ place, first }] : [];
    });
}

/** Whether a target's key-use policies fit a role; the numbers and the way out when they do not. */
export function policyPlanProblem(target: Pick<TargetSettings, "maxPoliciesPerRole">, keys: KeyPlacement[], targetAccess: TargetAccess) {
    try {
        planTargetKeyUsePolicies({ keys, targetAccess, maxPolicies: target.maxPoliciesPerRole });
    } catch (err) {
        return (err as Error).message;
    }
}

const deployModeNeeds: Rule = (s, found) => {
    if (s.deploy !== "target" && s.stagingAccounts?.length === 0) {
        found.problems.push("stagingAccounts is required: list one entry per staging account and Region ({ accountId, region }).");
    }
    if (s.deploy === "target" && s.stagingStacks?.length === 0) {
        found.problems.push(
            "stagingStacks is required with deploy: target: list the staging stacks to read key ARNs from, like organization/drs-cross-account-kms/staging.",
        );
    }
};

const stagingIsNotTarget: Rule = (s, found) => {
    const targets = new Map(targetsOf(s).map(({ target, path }) => [target.accountId, path]));
    for (const { entry, path } of entriesOf(s)) {
        const target = known(entry.accountId) && targets.get(entry.accountId);
        if (!target) continue;
        found.problems.push(
            `${path}.accountId is the ${target === "target" ? "target account" : `account of ${target},`} ${entry.accountId}. A staging account replicates for a different (target) account; use another account.`,
        );
    }
};

const oneKeyPerAccountAndRegion: Rule = (s, found) => {
    const places = entriesOf(s).flatMap(({ entry: { accountId, region }, path }) =>
        known(accountId) && known(region) ? [{ accountId, region, path }] : [],
    );
    for (const { place, first } of duplicatePlaces(places)) {
        found.problems.push(
            `${place.path} repeats account ${place.accountId} in ${place.region} (${first.path}): one key per account and Region. Remove one entry.`,
        );
    }
};

/** One provider and one staging role per account: its entries agree on both. */
const entriesOfAnAccountAgree: Rule = (s, found) => {
    const why = {
        roleArn: ". Use one role per account.",
        profile: ": one provider signs in to each account. Use one profile per account.",
        stagingRole: ": the staging role exists once per account.",
    };
    const firstOf = new Map<string, { entry: DeepPartial<StagingEntry>; path: string }>();
    for (const { entry, path } of entriesOf(s).filter(({ entry }) => known(entry.accountId))) {
        const first = firstOf.get(entry.accountId!);
        if (!first) {
            firstOf.set(entry.accountId!, { entry, path });
            continue;
        }
        for (const [key, reason] of Object.entries(why) as [keyof typeof why, string][]) {
            if (first.entry[key] === entry[key]) continue;
            found.problems.push(`${path}.${key} differs from ${first.path}.${key} for the same account ${entry.accountId}${reason}`);
        }
    }
};

/** A provider assumes a role in the account it deploys to; names and ARNs belong where they are used. */
const arnsInTheirAccounts: Rule = (s, found) => {
    const roleIn = (path: string, arn: string | undefined, accountId: string | undefined, problem?: (account: string) => string) => {
        const role = known(arn) ? parseRoleArn(arn) : undefined;
        if (!role || !known(accountId) || role.accountId === accountId) return;
        found.problems.push(
            problem?.(role.accountId) ??
                `${path} is a role in account ${role.accountId}, but this entry's account is ${accountId}. The provider assumes a role in the account it deploys to.`,
        );
    };
    roleIn("identityCenter.roleArn", s.identityCenter?.roleArn, s.identityCenter?.accountId);
    for (const { target, path } of targetsOf(s)) {
        roleIn(`${path}.roleArn`, target.roleArn, target.accountId);
        for (const { item: name, i } of items(target.keyUserRoleNames)) {
            const where = `${path}.keyUserRoleNames[${i}] "${name}"`;
            roleIn(
                where,
                name,
                target.accountId,
                (account) => `${where} is in account ${account}, not the target account ${target.accountId}.`,
            );
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
    for (const { entry, path } of entriesOf(s).filter(({ entry }) => known(entry.importKeyId))) {
        const id = parseKeyArn(entry.importKeyId!)?.keyId ?? entry.importKeyId!;
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
    const once = (path: string, values: (string | undefined)[] = []) => {
        const twice = [...new Set(values.filter((value, i) => known(value) && values.indexOf(value) !== i))];
        if (twice.length > 0) found.problems.push(`${path} lists ${twice.join(", ")} more than once.`);
    };
    for (const { target, path } of targetsOf(s)) {
        once(`${path}.regions`, target.regions);
        rolesNamedOnce(`${path}.keyUserRoleNames`, target.keyUserRoleNames, target.accountId, found);
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

/**
 * Each role once: IAM role names are unique regardless of case (DrsAdmin and drsadmin cannot both
 * exist), so two entries whose names match up to case, as names or ARNs, name one role.
 */
function rolesNamedOnce(path: string, roles: (string | undefined)[] = [], accountId: string | undefined, found: Findings) {
    const first = new Map<string, { i: number; name: string }>();
    roles.forEach((role, i) => {
        const arn = known(role) ? parseRoleArn(role) : undefined;
        // A role of another account is refused on its own (arnsInTheirAccounts), not as a repeat.
        if (!known(role) || (arn && known(accountId) && arn.accountId !== accountId)) return;
        const name = arn?.name ?? role;
        const earlier = first.get(name.toLowerCase());
        if (!earlier) return void first.set(name.toLowerCase(), { i, name });
        const same = `${path}[${i}] ${shown(role)} names the same role as ${path}[${earlier.i}] ${shown(roles[earlier.i])}`;
        found.problems.push(
            earlier.name === name
                ? `${same}. List the role once.`
                : `${same}: IAM role names are unique regardless of case (${earlier.name} and ${name} cannot both exist). List the role once, spelt as IAM has it.`,
        );
    });
}

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
    const placed = [
        ...regions.map(([path, region]) => [path, region, partitionOf(region)]),
        ...texts(s).flatMap(([path, value]) => (value.startsWith("arn:") ? [[path, value, arnPartition(value)!]] : [])),
    ];
    for (const [path, value, its] of placed.filter(([, , its]) => its !== partition)) {
        found.problems.push(
            `${path} ${JSON.stringify(value)} is in partition ${its}, but ${anchor[0]} ${JSON.stringify(anchor[1])} is in ${partition}: ` +
                "nothing crosses partitions, so one stack's accounts, Regions and ARNs are all in one.",
        );
    }
};

/** The listed Regions one edit (a swap of neighbours included) from an unlisted one: what a typo of it meant. */
const oneEditFrom = (region: string) => knownRegions.filter((r) => editsApart(r, region) === 1);

/**
 * A Region one edit from a listed one (us-wset-2) is taken for a typo and refused, unless
 * allowUnlistedRegions says the stack names Regions newer than this version. A refused Region is
 * left out of what the later rules read, as a value with a problem of its own is: no follow-on problems.
 */
const regionTyposRefused: Rule = (s, found) => {
    if (s.allowUnlistedRegions === true) return;
    for (const [path, region] of regionsOf(s)) {
        const meant = isKnownRegion(region) ? [] : oneEditFrom(region);
        if (meant.length === 0) continue;
        found.problems.push(
            `${path} ${shown(region)} is not a Region this version lists, and one edit from ${meant.join(" and ")}: did you mean ${meant.join(" or ")}? ` +
                "Correct it; or, if it is a Region AWS added after this version, set allowUnlistedRegions: true.",
        );
        removeAt(s, path);
    }
};

/** Removes the value at a path of texts() (`targets[0].regions[1]`): an item of a list keeps its place, as undefined. */
function removeAt(s: ReadSettings, path: string): void {
    const steps = [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map(([, key, index]) => (index === undefined ? key : Number(index)));
    const parent = steps.slice(0, -1).reduce<unknown>((node, key) => (node as Record<string | number, unknown> | undefined)?.[key], s);
    const last = steps.at(-1)!;
    if (Array.isArray(parent)) parent[last as number] = undefined;
    else if (parent && typeof parent === "object") delete (parent as Record<string, unknown>)[last];
}

/** A Region this version does not list is taken by its name, with a warning (AWS adds Regions), and the one likely meant. */
const unlistedRegionsWarned: Rule = (s, found) => {
    const area = (region: string) => region.split("-").slice(0, -1).join("-");
    for (const region of new Set(regionsOf(s).map(([, region]) => region))) {
        if (isKnownRegion(region)) continue;
        const near = knownRegions.filter((r) => area(r) === area(region));
        const meant = oneEditFrom(region);
        const suggestion = meant.length > 0 ? meant.join(" or ") : closest(region, [...knownRegions]);
        found.warnings.push(
            `${region} is not a Region this version lists; it is taken as a Region of partition ${partitionOf(region)}. ` +
                `Check the spelling${near.length > 0 ? ` (listed: ${near.join(", ")})` : ""}${suggestion ? `: did you mean ${suggestion}?` : "."}`,
        );
    }
};

/** KMS keys are regional: each recovery Region needs a key there, and each key a target that recovers its Region. */
const recoveryRegionsHaveKeys: Rule = (s, found) => {
    if (s.deploy === "target") return;
    const stagingRegions = new Set(entriesOf(s).map(({ entry }) => entry.region));
    const targets = targetsOf(s);
    for (const { target, path } of targets) {
        for (const { item: region, i } of items(target.regions).filter(({ item }) => known(item) && !stagingRegions.has(item))) {
            found.problems.push(
                `${path}.regions[${i}] "${region}" has no staging key. KMS keys are regional: a key in ${[...stagingRegions].filter(known).join(", ") || "another Region"} ` +
                    `is never used through ec2.${region}, and DRS recovers extended source servers in the staging Region. ` +
                    `Add a stagingAccounts entry in ${region}, or remove it from ${path}.regions.`,
            );
        }
    }
    // A target whose regions has an item with a problem of its own is not judged: the item may be the Region meant.
    if (targets.length === 0 || targets.some(({ target }) => !target.regions || target.regions.some((r) => !known(r)))) return;
    const [where, fix] =
        targets.length === 1
            ? ["target.regions: the target would get", "target.regions"]
            : ["the regions of any target: no target would use", "a target's regions"];
    for (const { entry, path } of entriesOf(s)) {
        if (!known(entry.region) || targets.some(({ target }) => target.regions!.includes(entry.region))) continue;
        found.problems.push(
            `${path}.region "${entry.region}" is not in ${where} a key it never recovers with. Add ${entry.region} to ${fix} or remove this entry.`,
        );
    }
};

/** Launch settings only make sense where the target recovers. */
const launchWhereRecovered: Rule = (s, found) => {
    const stagingRegions = s.deploy === "target" ? undefined : entriesOf(s).map(({ entry }) => entry.region);
    for (const { target, path } of targetsOf(s)) {
        const recovery = (target.regions ?? stagingRegions)?.filter(known);
        if (!recovery) continue; // a target stack without target.regions: checked against the staging stacks
        for (const { item: launch, i } of items(target.launch).filter(
            ({ item }) => known(item.region) && !recovery.includes(item.region),
        )) {
            found.problems.push(
                `${path}.launch[${i}].region "${launch.region}" is not a recovery Region (${recovery.join(", ")}): DRS recovers extended source servers in their staging Region.`,
            );
        }
    }
};

/** The keys a target uses: those in its recovery Regions (every key, without target.regions). */
export function keysOfTarget<K extends { region: string }>(target: Pick<TargetSettings, "regions">, keys: K[]): K[] {
    return keys.filter((key) => !target.regions || target.regions.includes(key.region));
}

/** The targets one staging key serves: those that recover its Region. */
export function targetsOfKey<T extends Pick<TargetSettings, "regions">>(targets: T[], key: { region: string }): T[] {
    return targets.filter((target) => !target.regions || target.regions.includes(key.region));
}

/** Each target's key-use policies fit the roles they are attached to (judged once everything else reads well). */
const keyUsePoliciesFit: Rule = (s, found) => {
    if (s.deploy !== "all" || found.problems.length > 0) return;
    const { stagingAccounts, key, identityCenter, target, targets = [target] } = s as Settings;
    const counts = targets.map((target, i) => {
        try {
            const keys = keysOfTarget(target, stagingAccounts);
            return planTargetKeyUsePolicies({ keys, targetAccess: key.targetAccess, maxPolicies: target.maxPoliciesPerRole }).length;
        } catch (err) {
            found.problems.push(`stagingAccounts ${targets.length > 1 ? `(for targets[${i}]) ` : ""}${(err as Error).message}`);
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
    if (s.deploy === "target" || !s.targets || s.targets.length < 2 || found.problems.length > 0) return;
    const { targets, key, stagingAccounts } = s as Settings;
    stagingAccounts.forEach((entry, i) => {
        const problem = keyTargetsProblem(entry, targetsOfKey(targets, entry), key.targetAccess);
        if (problem) found.problems.push(`stagingAccounts[${i}] ${problem}`);
    });
};

/** Whether a key policy serving these targets fits KMS's limit; the numbers when it does not. */
export function keyTargetsProblem(
    entry: Pick<StagingEntry, "accountId" | "region">,
    targets: { accountId: string }[],
    targetAccess: TargetAccess,
) {
    const [first, ...additionalTargets] = targets.map(({ accountId }) => ({
        targetAccountId: accountId,
        stagingRoleArn: `arn:${partitionOf(entry.region)}:iam::${entry.accountId}:role${drsStagingRolePath}${drsStagingRoleName(accountId)}`,
        // The length IAM gives unique IDs: the policy Id carries one per target.
        stagingRoleUniqueId: `AROA${"0".repeat(17)}`,
    }));
    try {
        buildKeyPolicy({ ...first, stagingAccountId: entry.accountId, region: entry.region, targetAccess, additionalTargets });
        targetAccountTag(targets.map((t) => t.accountId));
    } catch (err) {
        const why = (err as Error).message.replace(/^Cannot build the DRS key policy: /, "");
        return `cannot serve all ${targets.length} targets with one key: ${why} Give some targets regions without this one, or serve them from other staging accounts.`;
    }
}

/** The way back lands in an origin that is not a target; on-premises failback has no origin account. */
const wayBackMakesSense: Rule = (s, found) => {
    const targets = new Map(targetsOf(s).map(({ target, path }) => [target.accountId, path]));
    for (const { entry, path } of entriesOf(s)) {
        const back = entry.failback;
        if (!back) continue;
        if (back.to === "on-premises") {
            const stray = (["accountId", "region", "roleArn", "networkReplication"] as const).filter(
                (k) => back[k] !== undefined && back[k] !== false,
            );
            if (stray.length > 0)
                found.problems.push(
                    `${path}.failback has ${stray.join(", ")} with to: on-premises: the Failback Client returns servers to your own machines, not to an AWS account. Remove ${stray.length === 1 ? "it" : "them"}, or set to: aws.`,
                );
            continue;
        }
        const origin = back.accountId ?? entry.accountId;
        const target = known(origin) && targets.get(origin);
        if (target)
            found.problems.push(
                `${path}.failback.accountId is the ${target === "target" ? "target account" : `account of ${target},`} ${origin}: failback returns servers from the target to where they came from. Give the account the EC2 sources ran in.`,
            );
        const role = known(back.roleArn) ? parseRoleArn(back.roleArn) : undefined;
        if (role && known(origin) && role.accountId !== origin)
            found.problems.push(`${path}.failback.roleArn is a role in account ${role.accountId}, not the origin ${origin}.`);
    }
};

export const rules: Rule[] = [
    deployModeNeeds,
    stagingIsNotTarget,
    oneKeyPerAccountAndRegion,
    entriesOfAnAccountAgree,
    arnsInTheirAccounts,
    keysAdoptedOnce,
    listsNameEachOnce,
    onePartition,
    regionTyposRefused,
    unlistedRegionsWarned,
    recoveryRegionsHaveKeys,
    launchWhereRecovered,
    keyUsePoliciesFit,
    keyPoliciesFit,
    wayBackMakesSense,
];
