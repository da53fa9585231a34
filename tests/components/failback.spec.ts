// The way back's pure facts: the roles per direction, and the two judgements verify makes of
// policies it did not write (an origin key's policy for the origin's DRS service-linked role, the
// network role's trust), each held against the IAM simulator on the documented policy and its near misses.
import { expect } from "chai";
import {
    PolicyDocument,
    buildKeyPolicy,
    drsServiceLinkedRoleArn,
    failbackRoles,
    networkRoles,
    serviceRoleKeyUseGaps,
    trustsDrsFor,
} from "../../components/policies";
import { decide } from "../../plan/simulate";

const origin = "555566667777";
const target = "111122223333";
const outsider = "999988887777";
const region = "us-east-1";
const keyArn = `arn:aws:kms:${region}:${origin}:key/5678efgh-12ab-34cd-56ef-1234567890ab`;
const serviceRole = drsServiceLinkedRoleArn("aws", origin);

describe("failback: the roles of each direction", () => {
    it("names DRS's failback roles in the origin for the target, and in the target for the origin", () => {
        expect(failbackRoles(origin, target)).to.deep.equal([
            {
                accountId: origin,
                trustedAccountId: target,
                direction: "back",
                roleNames: [
                    `DRSCrossAccountReplicationRole_${target}`,
                    `DRSCrossAccountAgentRole_${target}`,
                    `DRSCrossAccountAgentAuthorizedRole_${target}`,
                ],
            },
            {
                accountId: target,
                trustedAccountId: origin,
                direction: "there",
                roleNames: [
                    `DRSCrossAccountReplicationRole_${origin}`,
                    `DRSCrossAccountAgentRole_${origin}`,
                    `DRSCrossAccountAgentAuthorizedRole_${origin}`,
                ],
            },
        ]);
        expect(networkRoles(origin, target).map((r) => [r.accountId, r.trustedAccountId, r.roleNames])).to.deep.equal([
            [origin, target, ["DRSSourceNetworkRole"]],
            [target, origin, ["DRSSourceNetworkRole"]],
        ]);
    });
});

/** The uses the check asks for, as the simulator sees them: the service-linked role through EC2 in the key's Region. */
const uses = [
    { action: "kms:Decrypt", via: true },
    { action: "kms:GenerateDataKeyWithoutPlaintext", via: true },
    { action: "kms:ReEncryptFrom", via: true },
    { action: "kms:ReEncryptTo", via: true },
    { action: "kms:CreateGrant", via: true, grant: true },
    { action: "kms:DescribeKey", via: false },
];

async function simulatorGaps(policy: PolicyDocument, viaRegion = region): Promise<string[]> {
    const gaps: string[] = [];
    for (const use of uses) {
        const decision = await decide({
            principal: serviceRole,
            action: use.action,
            resource: keyArn,
            resourceAccount: origin,
            context: {
                "kms:CallerAccount": origin,
                ...(use.via ? { "kms:ViaService": `ec2.${viaRegion}.amazonaws.com` } : {}),
                ...(use.grant ? { "kms:GrantIsForAWSResource": "true" } : {}),
            },
            resourcePolicy: policy,
        });
        if (decision !== "Allowed") gaps.push(use.action);
    }
    return gaps;
}

const stagingLike = () =>
    buildKeyPolicy({
        stagingAccountId: origin,
        targetAccountId: target,
        region,
        stagingRoleArn: `arn:aws:iam::${origin}:role/service-role/DRSStagingAccountRole_${target}`,
        targetAccess: "documented",
    });
const withStatements = (edit: (policy: PolicyDocument) => PolicyDocument["Statement"]) => {
    const policy = stagingLike();
    return { ...policy, Statement: edit(policy) };
};

describe("failback: the origin key's policy for the origin's DRS service-linked role", () => {
    const cases: [string, PolicyDocument][] = [
        ["the staging keys' policy", stagingLike()],
        [
            "a policy without the service-linked role's statements",
            withStatements((p) => p.Statement.filter((s) => !s.Sid.startsWith("AllowStagingDrsServiceRole"))),
        ],
        [
            "the statements through EC2 in another Region",
            withStatements((p) =>
                p.Statement.map((s) =>
                    s.Condition?.StringEquals?.["kms:ViaService"]
                        ? {
                              ...s,
                              Condition: {
                                  ...s.Condition,
                                  StringEquals: { ...s.Condition.StringEquals, "kms:ViaService": "ec2.us-west-2.amazonaws.com" },
                              },
                          }
                        : s,
                ),
            ),
        ],
        [
            "the statements for another account's service-linked role",
            withStatements((p) =>
                p.Statement.map((s) =>
                    s.Sid.startsWith("AllowStagingDrsServiceRole")
                        ? { ...s, Principal: { AWS: drsServiceLinkedRoleArn("aws", outsider) } }
                        : s,
                ),
            ),
        ],
        [
            "a Deny of Decrypt to everyone",
            withStatements((p) => [
                ...p.Statement,
                { Sid: "DenyDecrypt", Effect: "Deny", Principal: { AWS: "*" }, Action: "kms:Decrypt", Resource: "*" },
            ]),
        ],
    ];

    it("finds no gap in the staging keys' policy, and the simulator allows every use", async () => {
        expect(serviceRoleKeyUseGaps(stagingLike(), "aws", origin, region)).to.deep.equal([]);
        expect(await simulatorGaps(stagingLike())).to.deep.equal([]);
    });

    for (const [name, policy] of cases.slice(1)) {
        it(`finds the gaps of ${name}, the ones the simulator denies`, async () => {
            const gaps = serviceRoleKeyUseGaps(policy, "aws", origin, region);
            expect(gaps).to.not.deep.equal([]);
            expect(gaps).to.deep.equal(await simulatorGaps(policy));
        });
    }

    it("counts a condition it cannot judge as not met (the simulator may allow more, never less)", async () => {
        const policy = withStatements((p) =>
            p.Statement.map((s) =>
                s.Sid === "AllowStagingDrsServiceRoleDescribeKey"
                    ? { ...s, Condition: { DateGreaterThan: { "aws:CurrentTime": "2020-01-01T00:00:00Z" } } }
                    : s,
            ),
        );
        expect(serviceRoleKeyUseGaps(policy, "aws", origin, region)).to.deep.equal(["kms:DescribeKey"]);
    });
});

describe("failback: the network role's trust", () => {
    // The trust policy the DRS trusted-accounts page documents for the network role, for the target.
    const documented: PolicyDocument = {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "Documented",
                Effect: "Allow",
                Principal: { Service: "drs.amazonaws.com" },
                Action: "sts:AssumeRole",
                Condition: {
                    StringLike: { "aws:SourceAccount": target },
                    ArnLike: { "aws:SourceArn": "arn:aws:drs:*:*:source-network/*" },
                },
            },
        ],
    };
    const assume = (account: string, resource: string) =>
        decide({
            principal: "drs.amazonaws.com",
            action: "sts:AssumeRole",
            resource: `arn:aws:iam::${origin}:role/DRSSourceNetworkRole`,
            resourceAccount: origin,
            context: { "aws:SourceAccount": account, "aws:SourceArn": `arn:aws:drs:${region}:${account}:${resource}/example` },
            resourcePolicy: documented,
        });

    it("trusts DRS for the trusted account's source networks, as the simulator allows", async () => {
        expect(trustsDrsFor(documented, "aws", target, "source-network", region)).to.equal(true);
        expect(await assume(target, "source-network")).to.equal("Allowed");
    });

    it("does not for another account, or for source servers, as the simulator denies", async () => {
        expect(trustsDrsFor(documented, "aws", outsider, "source-network", region)).to.equal(false);
        expect(await assume(outsider, "source-network")).to.equal("ImplicitlyDenied");
        expect(trustsDrsFor(documented, "aws", target, "source-server", region)).to.equal(false);
        expect(await assume(target, "source-server")).to.equal("ImplicitlyDenied");
    });

    it("does not when the principal is not DRS", () => {
        const ec2: PolicyDocument = {
            ...documented,
            Statement: [{ ...documented.Statement[0], Principal: { Service: "ec2.amazonaws.com" } }],
        };
        expect(trustsDrsFor(ec2, "aws", target, "source-network", region)).to.equal(false);
    });
});
