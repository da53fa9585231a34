// List helpers the checks and the run share: bounded concurrency for per-server reads, and
// de-duplication that keeps first-seen order (the order checks and messages name things in).

/** `fn` over `items` with at most `limit` calls in flight; the first error stops new calls and is thrown. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
    const results: R[] = new Array(items.length);
    let next = 0;
    let failed = false;
    const worker = async () => {
        while (!failed && next < items.length) {
            const i = next++;
            try {
                results[i] = await fn(items[i]);
            } catch (err) {
                failed = true;
                throw err;
            }
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    return results;
}

export function unique(items: string[]): string[] {
    return [...new Set(items)];
}
