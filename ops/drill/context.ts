// One drill run's shared state: what its phases (the plan, the identity, the job, the proof) all
// read, and what one phase leaves for a later one (the identity's role and sessions, the role IDs
// the diagnosis names). Made once per drill() call, so nothing carries over between runs.
import { DrsClient } from "@aws-sdk/client-drs";
import { randomUUID } from "crypto";
import { TargetAccess } from "../../components/policies";
import { DrillAccess, IdentitySession } from "../aws/access";
import { Clock, Deadline, noDeadline, realClock } from "../clock";
import { Io } from "../io";
import { DrillDeps, DrillInput, DrillOptions } from "./types";

export interface DrillContext {
    readonly input: DrillInput;
    readonly access: DrillAccess;
    readonly options: DrillOptions;
    readonly deps: DrillDeps;
    readonly clock: Clock;
    readonly io: Io;
    /** The target account the drill recovers into. */
    readonly target: string;
    readonly targetAccess: TargetAccess;
    /** The Regions of the stack's keys, in their order. */
    readonly regions: string[];
    /** When the run started (the clock's ms): progress stamps and a job's window count from it. */
    readonly started: number;
    readonly deadline: Deadline;
    /** The run tag's value on StartRecovery. */
    readonly runId: string;
    /** The drill identity's sessions by Region, opened as identityRoleArn (identity.ts). */
    readonly sessions: Map<string, Promise<IdentitySession>>;
    /** The role the identity resolved to; undefined: the current credentials. */
    identityRoleArn: string | undefined;
    /** Role unique IDs (AROA...) read with GetRole, to names: CloudTrail records may give only the ID. */
    readonly knownRoleIds: Map<string, string>;
    /** DRS clients of the staging accounts by account/Region, for the plan's on-key check. */
    readonly stagingClients: Map<string, Promise<DrsClient>>;
    /** This command line with `flags`, for the commands the messages name. */
    command(flags: string): string;
}

export function drillContext(input: DrillInput, access: DrillAccess, options: DrillOptions, deps: DrillDeps): DrillContext {
    const clock = deps.clock ?? realClock;
    return {
        input,
        access,
        options,
        deps,
        clock,
        io: deps.io,
        target: String(input.outputs.targetAccountId ?? input.settings.target.accountId),
        targetAccess: (input.outputs.targetAccess ?? input.settings.key.targetAccess) as TargetAccess,
        regions: [...new Set(input.keys.map((k) => k.region))],
        started: clock.now(),
        deadline: deps.deadline ?? noDeadline(clock),
        runId: deps.runId ?? randomUUID(),
        sessions: new Map(),
        identityRoleArn: undefined,
        knownRoleIds: new Map(),
        stagingClients: new Map(),
        command: (flags) => `${options.command ?? `npm run -s drill -- -s ${input.stack}`} ${flags}`,
    };
}
