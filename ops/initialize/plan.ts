// The plan: every account and Region of the stack where DRS must be initialised (the staging
// entries and the keys' places; each target in each of its recovery Regions), and what DRS and IAM
// say there now. Reads only: nothing here writes.
import type { Settings } from "../../config";
import { plural } from "../../config/text";
import { StagingKeyExport, wayBackOf } from "../../program/contract";
import { AwsAccess } from "../aws/access";
import { TimeLimitReached } from "../aws/faults";
import { Deadline, noDeadline } from "../clock";
import { PlaceReader } from "./calls";
import { InitializePlan, Place, PlacePlan, RegionlessTarget, Side } from "./types";

/**
 * The places of a stack, staging side first, each account and Region once: every stagingAccounts
 * entry and every exported key (the staging side); each target in target.regions, the Regions of
 * the keys that serve it and, without target.regions, every staging entry's Region (the target
 * side: DRS recovers in the staging Region); each failback origin. Works on the config alone (no keys yet).
 */
export function placesOf(settings: Settings, keys: StagingKeyExport[]): { places: Place[]; regionless: RegionlessTarget[] } {
    const places: Place[] = [];
    const add = (accountId: string, region: string, side: Side) => {
        const found = places.find((p) => p.accountId === accountId && p.region === region);
        if (!found) places.push({ accountId, region, sides: [side] });
        else if (!found.sides.includes(side)) found.sides.push(side);
    };
    for (const place of [...keys, ...settings.stagingAccounts]) add(place.accountId, place.region, "staging");
    // The way back: reverse replication creates source servers at the origin, so DRS must be initialised there too.
    for (const back of [...keys.map((k) => k.wayBack), ...settings.stagingAccounts.map(wayBackOf)])
        if (back?.originAccountId && back.originRegion) add(back.originAccountId, back.originRegion, "failback origin");
    const regionless: RegionlessTarget[] = [];
    for (const target of settings.targets) {
        const serving = keys.filter((k) => k.targetAccountIds?.includes(target.accountId) ?? true);
        const entries = settings.stagingAccounts.filter((e) => !target.regions || target.regions.includes(e.region));
        const regions = [...new Set([...(target.regions ?? []), ...serving.map((k) => k.region), ...entries.map((e) => e.region)])];
        if (regions.length === 0)
            regionless.push({
                accountId: target.accountId,
                why:
                    `no Region is known for target ${target.accountId}: set its regions (target.regions or targets[].regions) in the stack config, ` +
                    "or pass the deployed stack's outputs with --outputs (its stagingKeys name the Regions)",
            });
        for (const region of regions) add(target.accountId, region, "target");
    }
    return { places, regionless };
}

export interface PlanOptions {
    deadline?: Deadline;
    progress?: (line: string) => void;
    /** The stack had no outputs: its places come from the config alone. */
    configOnly?: boolean;
}

/**
 * Reads each place: DRS's answer there, and its account's service-linked role (once per account).
 * A read that cannot run leaves the place unchecked, with why; it is never taken as initialised.
 */
export async function planInitialization(
    places: Place[],
    regionless: RegionlessTarget[],
    aws: AwsAccess,
    options: PlanOptions = {},
): Promise<InitializePlan> {
    const deadline = options.deadline ?? noDeadline();
    const reader = new PlaceReader(aws, false, "every");
    options.progress?.(`Checking DRS in ${plural(places.length, "account and Region", "accounts and Regions")}...`);
    const planned: PlacePlan[] = [];
    for (const place of places) {
        if (deadline.reached()) {
            const why = new TimeLimitReached(deadline.minutes).message;
            planned.push({
                ...place,
                drs: "unchecked",
                serviceLinkedRole: "unchecked",
                status: "unchecked",
                why,
                fix: "run again with a longer --time-limit",
            });
            continue;
        }
        planned.push({ ...place, ...(await reader.read(place.accountId, place.region)) });
    }
    return { places: planned, regionless, configOnly: options.configOnly ?? false };
}
