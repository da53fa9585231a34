// Comparing a policy AWS holds with the one the program builds, as the key-policy and
// staging-role checks do: by statement Sid, so order and "x" versus ["x"] are no drift.
import { PolicyDocument } from "../../components/policies";

/** Differences between two policies, by statement Sid, ignoring order and single-value arrays. */
export function policyDifferences(expected: PolicyDocument, actual: PolicyDocument): string[] {
    const byId = (doc: PolicyDocument) => new Map((doc.Statement ?? []).map((s, i) => [s.Sid ?? `#${i}`, canonical(s)]));
    const want = byId(expected);
    const have = byId(actual);
    const differences: string[] = [];
    if ((expected.Id ?? "") !== (actual.Id ?? ""))
        differences.push(`Id is ${JSON.stringify(actual.Id)}, not ${JSON.stringify(expected.Id)}`);
    for (const [sid, statement] of want) {
        if (!have.has(sid)) differences.push(`statement ${sid} is missing`);
        else if (have.get(sid) !== statement) differences.push(`statement ${sid} differs`);
    }
    for (const sid of have.keys()) if (!want.has(sid)) differences.push(`statement ${sid} is not the program's`);
    return differences;
}

/** A statement as text in which order and "x" versus ["x"] do not matter. */
function canonical(value: unknown): string {
    const normal = (v: unknown): unknown => {
        if (Array.isArray(v))
            return v.length === 1
                ? normal(v[0])
                : v
                      .map(normal)
                      .map((x) => JSON.stringify(x))
                      .sort();
        if (v !== null && typeof v === "object")
            return Object.fromEntries(
                Object.entries(v)
                    .sort(([a], [b]) => a.localeCompare(b))
                    .map(([k, x]) => [k, normal(x)]),
            );
        return v;
    };
    return JSON.stringify(normal(value));
}
