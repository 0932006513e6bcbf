package dev.clawfence.controlplane.api;

/**
 * Query parameters of paged lists: {@code limit} (1-200, default 50) and an opaque numeric
 * {@code cursor} returned as {@code nextCursor} by the previous page.
 */
public final class Paging {

    public static final int DEFAULT_LIMIT = 50;
    public static final int MAX_LIMIT = 200;

    private Paging() {}

    public static int limit(String value) {
        return limit(value, DEFAULT_LIMIT, MAX_LIMIT);
    }

    /** {@code limit} as a number from 1 to {@code max}, {@code defaultLimit} when absent; a 400 naming it otherwise. */
    public static int limit(String value, int defaultLimit, int max) {
        if (value == null || value.isBlank()) {
            return defaultLimit;
        }
        try {
            int limit = Integer.parseInt(value);
            if (limit >= 1 && limit <= max) {
                return limit;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw ApiProblem.badRequest("limit", "\"" + value + "\" is not a number from 1 to " + max);
    }

    /** The cursor as a number, or null for the first page. */
    public static Long cursor(String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw ApiProblem.badRequest("cursor", "\"" + value + "\" is not a cursor from a previous page");
        }
    }
}
