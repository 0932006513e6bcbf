package dev.clawfence.policy;

import java.util.List;

/**
 * The outcome of reading untrusted input: the value when there are no errors, and every problem found
 * (errors and warnings) in document order.
 */
public record Validated<T>(T value, List<Problem> problems) {

    public Validated {
        problems = List.copyOf(problems);
        if ((value == null) == errorsIn(problems).isEmpty()) {
            throw new IllegalArgumentException("a value exactly when there are no errors");
        }
    }

    public boolean isValid() {
        return value != null;
    }

    public List<Problem> errors() {
        return errorsIn(problems);
    }

    public List<Problem> warnings() {
        return problems.stream().filter(p -> p.severity() == Problem.Severity.WARNING).toList();
    }

    private static List<Problem> errorsIn(List<Problem> problems) {
        return problems.stream().filter(p -> p.severity() == Problem.Severity.ERROR).toList();
    }
}
