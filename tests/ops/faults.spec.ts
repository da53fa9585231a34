// The live commands under faults, below any one command: what a failed call means (awsFaults),
// bounded pages, the clients' timeouts, and writes that the SDK never sends twice.
import {
    DescribeRecoveryInstancesCommand,
    DescribeReplicationConfigurationTemplatesCommand,
    DescribeSourceServersCommand,
    DrsClient,
    StartRecoveryCommand,
} from "@aws-sdk/client-drs";
import { DescribeVolumesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { IAMClient, ListAttachedRolePoliciesCommand } from "@aws-sdk/client-iam";
import { DescribeKeyCommand } from "@aws-sdk/client-kms";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { ConfiguredRetryStrategy } from "@smithy/util-retry";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import * as net from "net";
import { Readable } from "stream";
import { AssumedRoleAccess, ThrottledOnlyRetry, clientOptions, maxAttempts } from "../../ops/aws/access";
import { allPages, answerLost, MalformedAnswer, maxPages, TimeLimitReached, uncheckedOf, UnreachableAccount } from "../../ops/aws/faults";
import { Deadline } from "../../ops/clock";
import { parseConfig } from "../../config";
import { attachedRolePolicies } from "../../ops/aws/iamReads";
import { readRecoveredVolumes } from "../../ops/drill/volumes";
import { listSourceServers } from "../../ops/aws/sourceServers";
import { verify } from "../../ops/verify";

const staging = "444455556666";
const region = "us-east-1";
const awsError = (name: string, message = name, extra: object = {}) => Object.assign(new Error(message), { name, ...extra });
const status = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

describe("a failed call, in the commands' terms", () => {
    it("names the kind of each failure: unreachable, refused (with the permission), service error, malformed, timeout, time limit", () => {
        const kinds = [
            [new UnreachableAccount(staging, "no role"), "unreachable"],
            [awsError("CredentialsProviderError", "Could not load credentials from any providers"), "unreachable"],
            [awsError("AccessDeniedException", "User: x is not authorized to perform: kms:GetKeyPolicy on resource: k"), "refused"],
            [awsError("UnauthorizedOperation", "You are not authorized to perform this operation."), "refused"],
            [awsError("InternalServerException", "boom", { $fault: "server", ...status(500) }), "service-error"],
            [awsError("ThrottlingException", "Rate exceeded", status(400)), "service-error"],
            [awsError("ServiceUnavailable", "try later", status(503)), "service-error"],
            [new MalformedAnswer("drs:DescribeSourceServers", "items that are not a list"), "malformed"],
            [awsError("SyntaxError", "Unexpected token < in JSON at position 0"), "malformed"],
            [awsError("TimeoutError", "Connection timed out after 10000 ms"), "timeout"],
            [new TimeLimitReached(30), "time-limit"],
            [awsError("UninitializedAccountException", "not initialised", status(400)), "not-initialised"],
            [Object.assign(new Error("getaddrinfo ENOTFOUND drs.us-east-1.amazonaws.com"), { code: "ENOTFOUND" }), "unreachable"],
            [awsError("SomeNewException", "AWS says no", status(400)), "service-error"],
        ] as const;
        for (const [err, kind] of kinds) expect(uncheckedOf(err, staging, "kms:GetKeyPolicy")?.kind, err.name).to.equal(kind);
        expect(uncheckedOf(kinds[2][0], staging, "kms:Decrypt")?.permission).to.equal("kms:GetKeyPolicy"); // the message's, first
        expect(uncheckedOf(awsError("AccessDenied", "Access denied"), staging, "kms:Decrypt")?.permission).to.equal("kms:Decrypt");
    });

    it("lets a bug through: an error that is no AWS answer and no known failure is not turned into 'not checked'", () => {
        expect(uncheckedOf(new TypeError("Cannot read properties of undefined"), staging)).to.equal(undefined);
    });

    it("a write may have been done when its answer was lost (no answer, a timeout, a 5xx), never after a 4xx", () => {
        expect(answerLost(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))).to.equal(true);
        expect(answerLost(awsError("TimeoutError", "timed out"))).to.equal(true);
        expect(answerLost(awsError("InternalServerException", "boom", status(500)))).to.equal(true);
        expect(answerLost(awsError("ValidationException", "bad", status(400)))).to.equal(false);
        expect(answerLost(awsError("ThrottlingException", "slow down", status(400)))).to.equal(false);
        expect(answerLost(awsError("AccessDeniedException", "no"))).to.equal(false);
        expect(answerLost(awsError("ConflictException", "busy"))).to.equal(false);
    });
});

describe("paged reads, bounded", () => {
    it("follows every page and stops at the last", async () => {
        const pages: Record<string, { items: number[]; nextToken?: string }> = { "": { items: [1], nextToken: "a" }, a: { items: [2] } };
        expect(await allPages("drs:DescribeSourceServers", async (t) => pages[t ?? ""])).to.deep.equal([1, 2]);
    });

    it("stops at a token that comes back twice, naming the call", async () => {
        let error: Error | undefined;
        let calls = 0;
        try {
            await allPages("drs:DescribeSourceServers", async () => ({ items: [calls++], nextToken: "same" }));
        } catch (err) {
            error = err as Error;
        }
        expect(error).to.be.instanceOf(MalformedAnswer);
        expect(error?.message).to.equal(
            "drs:DescribeSourceServers answered the same page token twice (after 2 pages): that is not an answer AWS sends",
        );
        expect(calls).to.equal(2);
    });

    it("stops after maxPages of fresh tokens, and at items that are not a list", async () => {
        let calls = 0;
        const endless = allPages("iam:ListAttachedRolePolicies", async () => ({ items: [], nextToken: `t${calls++}` }));
        let error: Error | undefined;
        try {
            await endless;
        } catch (err) {
            error = err as Error;
        }
        expect([error?.message, calls]).to.deep.equal([
            `iam:ListAttachedRolePolicies answered more than ${maxPages} pages: that is not an answer AWS sends`,
            maxPages,
        ]);
        let notAList: Error | undefined;
        try {
            await allPages("drs:DescribeJobs", async () => ({ items: "x" as unknown as number[] }));
        } catch (err) {
            notAList = err as Error;
        }
        expect(notAList?.message).to.equal("drs:DescribeJobs answered items that are not a list: that is not an answer AWS sends");
    });

    it("a source-server listing whose token never ends is an error naming DescribeSourceServers, after two pages", async () => {
        const drs = new DrsClient({ region });
        const mock = mockClient(drs).on(DescribeSourceServersCommand).resolves({ items: [], nextToken: "again" });
        let error: Error | undefined;
        try {
            await listSourceServers(drs);
        } catch (err) {
            error = err as Error;
        }
        expect(error).to.be.instanceOf(MalformedAnswer);
        expect((error as MalformedAnswer).call).to.equal("drs:DescribeSourceServers");
        expect(mock.commandCalls(DescribeSourceServersCommand)).to.have.length(2);
    });
});

describe("the time limit", () => {
    it("counts from its start on the clock it is given", () => {
        let now = 0;
        const deadline = new Deadline({ now: () => now, sleep: async () => undefined }, 2);
        expect([deadline.reached(), deadline.left()]).to.deep.equal([false, 120_000]);
        now = 119_999;
        expect(deadline.reached()).to.equal(false);
        now = 120_000;
        expect(deadline.reached()).to.equal(true);
        expect(() => deadline.check()).to.throw(TimeLimitReached, "the command's time limit of 2 minutes (--time-limit) was reached");
    });
});

/** A JSON-protocol answer as the SDK's HTTP handler returns it. */
function answer(statusCode: number, body: object) {
    return {
        statusCode,
        headers: { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "req" },
        body: Readable.from([Buffer.from(JSON.stringify(body))]),
    };
}

describe("the clients: timeouts, and writes the SDK never sends twice", () => {
    const assumed = () => {
        const sts = new STSClient({ region });
        mockClient(sts)
            .on(AssumeRoleCommand)
            .resolves({ Credentials: { AccessKeyId: "AKIA", SecretAccessKey: "s", SessionToken: "t", Expiration: new Date() } });
        return sts;
    };
    const roles = new Map([[staging, `arn:aws:iam::${staging}:role/Deploy`]]);

    it("every client has a connect and a request timeout (the SDK's own default waits forever), configurable", async () => {
        const options = clientOptions({ connectSeconds: 3, requestSeconds: 20 });
        expect(options.requestHandler).to.deep.equal({ connectionTimeout: 3000, requestTimeout: 20_000 });
        const drs = await new AssumedRoleAccess(roles, "verify", assumed(), options).drs(staging, region);
        // The handler resolves its options on first use; they are what the client was given.
        const handler = drs.config.requestHandler as unknown as { configProvider: Promise<Record<string, unknown>> };
        expect(await handler.configProvider).to.include({ connectionTimeout: 3000, requestTimeout: 20_000 });
    });

    it("a connection held open without an answer ends at the request timeout: not checked, as a timeout", async () => {
        const sockets: net.Socket[] = [];
        const server = net.createServer((socket) => void sockets.push(socket)); // accepts, never answers
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const port = (server.address() as net.AddressInfo).port;
        try {
            const options = {
                ...clientOptions({ connectSeconds: 1, requestSeconds: 0.2 }),
                endpoint: `http://127.0.0.1:${port}`,
                retryStrategy: new ConfiguredRetryStrategy(2, 0),
            };
            const kms = await new AssumedRoleAccess(roles, "verify", assumed(), options).kms(staging, region);
            const started = Date.now();
            let error: Error | undefined;
            try {
                await kms.send(new DescribeKeyCommand({ KeyId: "k" }));
            } catch (err) {
                error = err as Error;
            }
            expect(Date.now() - started).to.be.below(5_000);
            expect(uncheckedOf(error, staging, "kms:DescribeKey")?.kind).to.equal("timeout");
        } finally {
            for (const socket of sockets) socket.destroy();
            server.close();
        }
    });

    it("a write whose answer is lost is sent once; a throttled write is sent again; reads retry as before", async () => {
        const sent: number[] = [];
        const script: (() => unknown)[] = [];
        const handler = {
            handle: async () => {
                sent.push(sent.length + 1);
                const next = script.shift();
                const result = next?.();
                if (result instanceof Error) throw result;
                return { response: result };
            },
        };
        const options = { ...clientOptions(), requestHandler: handler, retryStrategy: new ConfiguredRetryStrategy(maxAttempts, 0) };
        const access = new AssumedRoleAccess(roles, "drill", assumed(), options);
        const writer = await access.drsWriter(staging, region);
        expect((await writer.config.retryStrategy()) as unknown).to.be.instanceOf(ThrottledOnlyRetry);

        // The connection drops after the request went out: the SDK would resend it; the writer does not.
        script.push(() => Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }));
        let lost: Error | undefined;
        try {
            await writer.send(new StartRecoveryCommand({ sourceServers: [{ sourceServerID: "s-1" }], isDrill: true }));
        } catch (err) {
            lost = err as Error;
        }
        expect([sent.length, answerLost(lost)]).to.deep.equal([1, true]);

        // A 5xx: the request reached DRS, and may have been done. Once.
        sent.length = 0;
        script.push(() => answer(500, { __type: "InternalServerException", message: "boom" }));
        try {
            await writer.send(new StartRecoveryCommand({ sourceServers: [{ sourceServerID: "s-1" }], isDrill: true }));
        } catch {
            // expected
        }
        expect(sent.length).to.equal(1);

        // Throttled: AWS did nothing, and the writer sends it again.
        sent.length = 0;
        script.push(
            () => answer(400, { __type: "ThrottlingException", message: "Rate exceeded" }),
            () => answer(200, { job: { jobID: "drsjob-1" } }),
        );
        const ok = await writer.send(new StartRecoveryCommand({ sourceServers: [{ sourceServerID: "s-1" }], isDrill: true }));
        expect([sent.length, ok.job?.jobID]).to.deep.equal([2, "drsjob-1"]);

        // A read still retries a 5xx.
        sent.length = 0;
        script.push(
            () => answer(500, { __type: "InternalServerException", message: "boom" }),
            () => answer(200, { items: [] }),
        );
        const reader = await access.drs(staging, region);
        await reader.send(new DescribeSourceServersCommand({}));
        expect(sent.length).to.equal(2);
    });
});

describe("a test per paginated call: a token that never ends stops, naming the call", () => {
    const endless = { nextToken: "again", NextToken: "again", Marker: "again", IsTruncated: true };

    it("iam:ListAttachedRolePolicies (verify's managed-policies-per-role, drill's identity check)", async () => {
        const iam = new IAMClient({ region });
        mockClient(iam)
            .on(ListAttachedRolePoliciesCommand)
            .resolves({ AttachedPolicies: [], ...endless });
        let error: Error | undefined;
        try {
            await attachedRolePolicies(iam, "DrsRecoveryOperator");
        } catch (err) {
            error = err as Error;
        }
        expect((error as MalformedAnswer).call).to.equal("iam:ListAttachedRolePolicies");
    });

    it("drs:DescribeRecoveryInstances and ec2:DescribeVolumes (the drill's recovered volumes): not checked, as malformed", async () => {
        const servers = [{ sourceServerID: "s-1", region, recoveryInstanceID: "i-0drill00000000001" }];
        const drs = new DrsClient({ region });
        const ec2 = new EC2Client({ region });
        const drsMock = mockClient(drs)
            .on(DescribeRecoveryInstancesCommand)
            .resolves({ items: [], ...endless });
        const ec2Mock = mockClient(ec2);
        const [first] = await readRecoveredVolumes({ drs, ec2 }, servers, "111122223333", []);
        expect([first.unchecked?.kind, first.unchecked?.why]).to.deep.equal([
            "malformed",
            "drs:DescribeRecoveryInstances answered the same page token twice (after 2 pages): that is not an answer AWS sends",
        ]);
        drsMock
            .on(DescribeRecoveryInstancesCommand)
            .resolves({ items: [{ recoveryInstanceID: "i-0drill00000000001", ec2InstanceID: "i-0drill00000000001" }] });
        ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [], ...endless });
        const [second] = await readRecoveredVolumes({ drs, ec2 }, servers, "111122223333", []);
        expect(second.unchecked?.why).to.match(/^ec2:DescribeVolumes answered the same page token twice/);
    });

    it("drs:DescribeReplicationConfigurationTemplates (verify's replication-template): not checked", async () => {
        const drs = new DrsClient({ region });
        mockClient(drs)
            .on(DescribeReplicationConfigurationTemplatesCommand)
            .resolves({ items: [], ...endless });
        const key = {
            accountId: staging,
            region,
            keyId: "k",
            keyArn: `arn:aws:kms:${region}:${staging}:key/k`,
            aliasName: "alias/x",
            stagingRoleArn: "r",
        };
        const unreachable = () => Promise.reject(new UnreachableAccount(staging, "only DRS here"));
        const settings = parseConfig({ target: { accountId: "111122223333" }, stagingAccounts: [{ accountId: staging, region }] }).settings;
        const results = await verify(
            { settings, outputs: { targetAccountId: "111122223333", stagingKeys: [key] } },
            { kms: unreachable, iam: unreachable, ec2: unreachable, drsWriter: unreachable, drs: async () => drs },
        );
        const template = results.find((r) => r.check === "replication-template")!;
        expect([template.status, template.unchecked?.kind]).to.deep.equal(["UNCHECKED", "malformed"]);
        expect(template.message).to.include("drs:DescribeReplicationConfigurationTemplates answered the same page token twice");
    });
});
