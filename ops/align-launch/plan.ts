// The plan: each server extended into the target, its own launch configuration against the
// stack's launch settings in its Region, only the fields the stack sets (a setting left out means
// DRS's default, which the command never changes). Reads only.
import { GetLaunchConfigurationCommand, LaunchConfiguration } from "@aws-sdk/client-drs";
import { AwsAccess } from "../aws/access";
import { AccessStop, calling } from "../aws/calls";
import { failure } from "../aws/faults";
import { hostnameOf, listSourceServers, serverIdOfArn } from "../aws/sourceServers";
import { CannotAlignLaunch, FieldChange, LaunchEntries, LaunchField, LaunchPlan, LaunchValue, RegionPlan, launchFields } from "./types";

/** The fields a launch entry sets, with their values: those left out are not compared. */
export function wantedOf(entry: LaunchEntries[number]): Partial<Record<LaunchField, LaunchValue>> {
    const wanted: Partial<Record<LaunchField, LaunchValue>> = {};
    for (const field of Object.keys(launchFields) as LaunchField[]) {
        const value = entry[field];
        if (value !== undefined) wanted[field] = value;
    }
    return wanted;
}

/** The fields of `config` that differ from `wanted`. */
export function differences(config: LaunchConfiguration, wanted: Partial<Record<LaunchField, LaunchValue>>): FieldChange[] {
    return (Object.entries(wanted) as [LaunchField, LaunchValue][])
        .filter(([field, value]) => launchFields[field](config) !== value)
        .map(([field, value]) => ({ field, now: launchFields[field](config), wanted: value }));
}

/** Reads a server's own launch configuration. */
export async function readLaunch(aws: AwsAccess, account: string, region: string, sourceServerID: string): Promise<LaunchConfiguration> {
    const drs = await calling(account, "drs:GetLaunchConfiguration", () => aws.drs(account, region));
    return calling(account, "drs:GetLaunchConfiguration", () => drs.send(new GetLaunchConfigurationCommand({ sourceServerID })));
}

/**
 * Per Region of target.launch: the servers extended into the target, how many already have the
 * stack's settings, and the fields that differ on the others. Throws CannotAlignLaunch at an access error.
 */
export async function planLaunch(
    targetAccountId: string,
    entries: LaunchEntries,
    aws: AwsAccess,
    options: { servers?: string[]; progress?: (line: string) => void } = {},
): Promise<LaunchPlan> {
    const wanted = options.servers && options.servers.length > 0 ? new Set(options.servers) : undefined;
    const found = new Set<string>();
    const regions: RegionPlan[] = [];
    try {
        for (const entry of entries) {
            const { region } = entry;
            const drs = await calling(targetAccountId, "drs:DescribeSourceServers", () => aws.drs(targetAccountId, region));
            // Extended servers only: a server replicating into the target itself is its own account's business.
            const extended = (await calling(targetAccountId, "drs:DescribeSourceServers", () => listSourceServers(drs))).filter(
                (s) => s.stagingArea?.status === "EXTENDED",
            );
            const chosen = wanted
                ? extended.filter((s) => {
                      const ids = [s.sourceServerID ?? "", serverIdOfArn(s.stagingArea?.stagingSourceServerArn) ?? ""];
                      const hit = ids.filter((id) => wanted.has(id));
                      hit.forEach((id) => found.add(id));
                      return hit.length > 0;
                  })
                : extended;
            options.progress?.(`Reading the launch configuration of ${chosen.length} extended servers in ${targetAccountId}/${region}...`);
            const plan: RegionPlan = {
                region,
                wanted: wantedOf(entry),
                extended: extended.length,
                selected: wanted ? chosen.length : undefined,
                aligned: 0,
                toChange: [],
                unreadable: [],
            };
            for (const server of chosen) {
                const sourceServerID = server.sourceServerID ?? "";
                let config: LaunchConfiguration;
                try {
                    config = await readLaunch(aws, targetAccountId, region, sourceServerID);
                } catch (err) {
                    if (err instanceof AccessStop) throw err;
                    plan.unreadable.push({ sourceServerID, hostname: hostnameOf(server), error: failure(err) });
                    continue;
                }
                const changes = differences(config, plan.wanted);
                if (changes.length === 0) plan.aligned++;
                else plan.toChange.push({ sourceServerID, hostname: hostnameOf(server), region, changes });
            }
            regions.push(plan);
        }
    } catch (err) {
        if (err instanceof AccessStop) throw new CannotAlignLaunch(`Could not plan: ${err.message}. Nothing was changed.`);
        throw new CannotAlignLaunch(`Could not plan in ${targetAccountId}: ${failure(err)}. Nothing was changed.`);
    }
    return { targetAccountId, regions, unknownServers: wanted ? [...wanted].filter((id) => !found.has(id)) : [] };
}
