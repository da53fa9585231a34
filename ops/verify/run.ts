// The run: verify() walks the stack's keys, then the configured places and targets the keys did
// not cover, and runs each check in the catalogue's order, with the run's state in one context.
import { SourceServer } from "@aws-sdk/client-drs";
import { KeyMetadata } from "@aws-sdk/client-kms";
import { StagingKeyExport, wayBackOf } from "../../program/contract";
import { pricesFor } from "../../plan/pricing";
import { quotas } from "../../plan/quotas";
import { AwsAccess } from "../aws/access";
import { listSourceServers, replicatingHere } from "../aws/sourceServers";
import {
    extendedCapacity,
    keyPolicySizeOutcome,
    managedPoliciesPerRole,
    monthlyCost,
    replicatingCapacity,
    targetCapacity,
} from "./checks/capacity";
import { describe, keyPolicy, keyRotation, keyState, multiRegionReplicas } from "./checks/keys";
import { extendedDrills, extendedReplication, sourceServerEncryption } from "./checks/servers";
import { latestPointsInTime, serverReadiness } from "./checks/readiness";
import { extensionCoverage, rightSizingRoles, sourceAccountRoles, unlistedSourceAccounts } from "./checks/coverage";
import { failbackClientCredentials, originDrs, originKey, originOf, sourceNetworkRoles, wayBackRoles } from "./checks/failback";
import { drsInitialised, drsServiceLinkedRole, replicationTemplate, stagingRole } from "./checks/staging";
import { targetDescribeKey, targetDirectDecrypt, targetEbsEncryption } from "./checks/target";
import {
    VerifyContext,
    family,
    forTarget,
    keysServing,
    once,
    policyTargetsOf,
    run,
    settingsOf,
    stagingRegions,
    targetRegions,
    targetsOfKey,
    verifyContext,
} from "./context";
import { unique } from "./lists";
import { symptoms } from "./outcomes";
import { CheckResult, VerifyInput, VerifyOptions } from "./types";

export async function verify(input: VerifyInput, aws: AwsAccess, options: VerifyOptions = {}): Promise<CheckResult[]> {
    const ctx = verifyContext(input, aws, options);
    for (const [i, key] of ctx.keys.entries()) await keyChecks(ctx, key, i);
    // Configured places the outputs have no key for yet.
    for (const place of ctx.stagingPlaces) {
        const [account, region] = place.split("/");
        if (ctx.done.has(`staging DRS ${account}/${region}`)) continue;
        ctx.progress(`Checking staging account ${account} in ${region}...`);
        await stagingPlaceChecks(ctx, account, region);
    }
    for (const target of ctx.stackTargets) await targetChecks(ctx, target);
    ctx.results.push({
        check: "monthly-cost",
        scope: "all",
        ...monthlyCost(ctx.keys, ctx.replicating, pricesFor(input.prices, input.settings.pricing)),
    });
    return ctx.results;
}

/** Account- and Region-wide checks of a staging place, once each however many keys share it. */
async function stagingPlaceChecks(ctx: VerifyContext, account: string, region: string): Promise<void> {
    await once(ctx, `role ${account}`, () =>
        run(ctx, "drs-service-linked-role", account, account, () => drsServiceLinkedRole(ctx.aws, account, stagingRegions(ctx, account))),
    );
    await once(ctx, `staging DRS ${account}/${region}`, () =>
        run(ctx, "staging-drs-initialised", `${account}/${region}`, account, () =>
            drsInitialised(ctx.aws, account, region, symptoms.replication),
        ),
    );
}

/** A target Region's checks, once each however many keys it serves. */
function targetRegionChecks(ctx: VerifyContext, target: string, region: string): Promise<void> {
    return once(ctx, `target DRS ${target}/${region}`, async () => {
        await run(ctx, "target-drs-initialised", `${target}/${region}`, target, () =>
            drsInitialised(ctx.aws, target, region, symptoms.recovery),
        );
        await run(ctx, "target-ebs-encryption", `${target}/${region}`, target, () =>
            targetEbsEncryption(ctx.aws, target, region, ctx.keys),
        );
    });
}

/** Every check of one staging key: its place, the key itself, the staging side, then each target's side. */
async function keyChecks(ctx: VerifyContext, key: StagingKeyExport, i: number): Promise<void> {
    const { aws } = ctx;
    const scope = `${key.accountId}/${key.region}`;
    const targets = targetsOfKey(ctx, key);
    ctx.progress(
        `Checking key ${i + 1} of ${ctx.keys.length}: staging account ${key.accountId} in ${key.region}, and target account${targets.length > 1 ? "s" : ""} ${targets.join(", ")} there...`,
    );
    await stagingPlaceChecks(ctx, key.accountId, key.region);
    // One DescribeKey serves key-state and, for a primary, multi-region-replicas.
    let described: Promise<KeyMetadata | undefined> | undefined;
    const describeKey = () => (described ??= describe(aws, key));
    await run(ctx, "key-state", scope, key.accountId, () => keyState(key, describeKey(), ctx.alignCommand));
    await run(ctx, "key-rotation", scope, key.accountId, () =>
        keyRotation(aws, key, ctx.input.settings.key.enableKeyRotation, family(ctx, key, "primary")[0]),
    );
    await run(ctx, "key-policy", scope, key.accountId, () =>
        keyPolicy(aws, key, policyTargetsOf(ctx, key), ctx.targetAccess, (bytes) => ctx.policyBytes.set(key.keyArn, bytes)),
    );
    await run(ctx, "key-policy-size", scope, key.accountId, async () => keyPolicySizeOutcome(ctx.policyBytes.get(key.keyArn)));
    if (key.multiRegionKey === "primary")
        await run(ctx, "multi-region-replicas", scope, key.accountId, () =>
            multiRegionReplicas(key, describeKey(), family(ctx, key, "replica"), ctx.alignCommand),
        );
    for (const target of targets) {
        await run(ctx, "staging-role", forTarget(ctx, scope, target), key.accountId, () => stagingRole(aws, key, target));
    }
    await run(ctx, "replication-template", scope, key.accountId, () => replicationTemplate(aws, key));
    // One listing of the staging area's servers serves the encryption, source-account and coverage checks.
    let listed: Promise<SourceServer[]> | undefined;
    const staged = () => (listed ??= aws.drs(key.accountId, key.region).then(async (drs) => replicatingHere(await listSourceServers(drs))));
    await run(ctx, "source-server-encryption", scope, key.accountId, () =>
        sourceServerEncryption(
            aws,
            key,
            ctx.alignCommand,
            (n) => ctx.replicating.set(key.keyArn, n),
            staged,
            (read) => ctx.encryptions.set(key.keyArn, new Map(read.map((e) => [e.sourceServerID, e]))),
        ),
    );
    await sourceAccountChecks(ctx, key, scope, staged);
    await run(ctx, "replicating-capacity", scope, key.accountId, async () => replicatingCapacity(key, ctx.replicating.get(key.keyArn)));
    for (const target of targets) await keyTargetChecks(ctx, key, target, forTarget(ctx, scope, target), staged);
}

/** The entry's EC2 source accounts: DRS's roles there for the staging account; sources from accounts not listed. */
async function sourceAccountChecks(
    ctx: VerifyContext,
    key: StagingKeyExport,
    scope: string,
    staged: () => Promise<SourceServer[]>,
): Promise<void> {
    const entry = ctx.input.settings.stagingAccounts.find((e) => e.accountId === key.accountId && e.region === key.region);
    const listed = entry?.ec2SourceAccounts.map((s) => s.accountId) ?? [];
    for (const source of listed)
        await run(ctx, "ec2-source-account-roles", `${scope} source ${source}`, source, () => sourceAccountRoles(ctx.aws, key, source));
    // Unlisted sources are named only when the listing was read (a failed read is source-server-encryption's UNCHECKED).
    const servers = await staged().catch(() => undefined);
    const unlisted = servers && unlistedSourceAccounts(key, servers, listed);
    if (unlisted) ctx.results.push({ check: "ec2-source-account-roles", scope, ...unlisted });
}

/** One target's side of a staging key: its access to the key, its Region, and the servers extended into it. */
async function keyTargetChecks(
    ctx: VerifyContext,
    key: StagingKeyExport,
    target: string,
    here: string,
    staged: () => Promise<SourceServer[]>,
): Promise<void> {
    const { aws } = ctx;
    await run(ctx, "target-describe-key", here, target, () => targetDescribeKey(aws, key, target));
    await run(ctx, "target-direct-decrypt-denied", here, target, () => targetDirectDecrypt(aws, key, target));
    await targetRegionChecks(ctx, target, key.region);
    // One listing of the extended servers serves both checks.
    let extended: Promise<SourceServer[]> | undefined;
    const extendedServers = () =>
        (extended ??= aws.drs(target, key.region).then((drs) => listSourceServers(drs, { stagingAccountIDs: [key.accountId] })));
    await run(ctx, "extended-source-servers", here, target, async () => {
        const listed = await extendedServers();
        ctx.extendedCounts.get(target)?.set(key.keyArn, listed.length);
        return extendedCapacity(key, listed);
    });
    await run(ctx, "extended-server-replication", here, target, async () => extendedReplication(key, target, await extendedServers()));
    await run(ctx, "extension-coverage", here, key.accountId, async () =>
        extensionCoverage(
            key,
            target,
            await staged(),
            await extendedServers(),
            settingsOf(ctx, target)?.unprotectedServers ?? [],
            ctx.extendCommand,
        ),
    );
    await run(ctx, "extended-server-drills", here, target, async () =>
        extendedDrills(key, await extendedServers(), ctx.now, ctx.maxDrillAge, ctx.drillCommand),
    );
    // Read in the staging account, where the points in time are; once per key however many targets.
    await run(ctx, "server-readiness", here, key.accountId, async () => {
        const [servers, extended] = [await staged(), await extendedServers()];
        const input = {
            key,
            target,
            staged: servers,
            encryptions: ctx.encryptions.get(key.keyArn) ?? new Map(),
            extended,
            leftOut: settingsOf(ctx, target)?.unprotectedServers ?? [],
            now: ctx.now,
            thresholds: ctx.readiness,
        };
        return serverReadiness(input, await pointsInTime(ctx, key, servers));
    });
    if (settingsOf(ctx, target)?.launch.some((l) => l.region === key.region && l.targetInstanceTypeRightSizingMethod === "IN_AWS"))
        await run(ctx, "in-aws-right-sizing-roles", here, key.accountId, () => rightSizingRoles(ctx.aws, key, target));
    await wayBackChecks(ctx, key, target);
}

/** Each staging server's latest point in time, read once per key. */
function pointsInTime(ctx: VerifyContext, key: StagingKeyExport, servers: SourceServer[]): Promise<Map<string, string | undefined>> {
    let read = ctx.pointsInTime.get(key.keyArn);
    if (!read) {
        read = ctx.aws
            .drs(key.accountId, key.region)
            .then((drs) => latestPointsInTime(drs, servers.map((s) => s.sourceServerID ?? "").filter(Boolean)));
        ctx.pointsInTime.set(key.keyArn, read);
    }
    return read;
}

/**
 * The way back from one target for a key's servers (its failback setting, from the outputs or,
 * for a stack deployed before it exported one, the config): once per origin and target.
 */
async function wayBackChecks(ctx: VerifyContext, key: StagingKeyExport, target: string): Promise<void> {
    const entry = ctx.input.settings.stagingAccounts.find((e) => e.accountId === key.accountId && e.region === key.region);
    const back = key.wayBack ?? (entry && wayBackOf(entry));
    if (!back) return;
    if (back.to === "on-premises") {
        await once(ctx, `failback client ${target}/${key.region}`, () =>
            run(ctx, "failback-client-credentials", `${target}/${key.region}`, target, () =>
                failbackClientCredentials(ctx.aws, target, key.region),
            ),
        );
        return;
    }
    const origin = originOf(back);
    if (!origin) return;
    const scope = `${origin.accountId}/${origin.region} from ${target}`;
    await once(ctx, `failback ${scope}`, async () => {
        ctx.progress(`Checking the way back from ${target} to ${origin.accountId} in ${origin.region}...`);
        await run(ctx, "failback-origin-drs", scope, origin.accountId, () => originDrs(ctx.aws, origin, target));
        await run(ctx, "failback-roles", scope, origin.accountId, () => wayBackRoles(ctx.aws, origin, target));
        await run(ctx, "failback-origin-key", scope, origin.accountId, () => originKey(ctx.aws, origin, ctx.keys));
        if (back.networkReplication)
            await run(ctx, "source-network-roles", scope, origin.accountId, () => sourceNetworkRoles(ctx.aws, origin, target));
    });
}

/** A target's checks after the keys': its Regions no key covered, its capacity, its key-user roles. */
async function targetChecks(ctx: VerifyContext, target: string): Promise<void> {
    for (const region of targetRegions(ctx, target)) {
        if (ctx.done.has(`target DRS ${target}/${region}`)) continue;
        ctx.progress(`Checking target account ${target} in ${region}...`);
        await targetRegionChecks(ctx, target, region);
    }
    for (const region of unique(keysServing(ctx, target).map((k) => k.region))) {
        const here = keysServing(ctx, target).filter((k) => k.region === region);
        await run(ctx, "target-capacity", `${target}/${region}`, target, async () =>
            targetCapacity(target, region, here, ctx.extendedCounts.get(target)!),
        );
    }
    const targetSettings = settingsOf(ctx, target);
    const maxPolicies = targetSettings?.maxPoliciesPerRole ?? quotas.managedPoliciesPerRole.value;
    for (const role of unique((targetSettings?.keyUserRoleNames ?? []).map((r) => r.split("/").pop()!))) {
        ctx.progress(`Checking the managed policies of role ${role} in ${target}...`);
        await run(ctx, "managed-policies-per-role", `${target}/${role}`, target, () =>
            managedPoliciesPerRole(ctx.aws, target, targetRegions(ctx, target)[0] ?? ctx.keys[0].region, role, maxPolicies),
        );
    }
}
