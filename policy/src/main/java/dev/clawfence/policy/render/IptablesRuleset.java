package dev.clawfence.policy.render;

/**
 * The iptables rendering of a compiled policy, in three texts applied in this order: {@code ipset}
 * for {@code ipset -exist restore}, then {@code iptables} for {@code iptables-restore --noflush} and
 * {@code ip6tables} for {@code ip6tables-restore --noflush}.
 */
public record IptablesRuleset(String ipset, String iptables, String ip6tables) {

    /** The three texts in one, each after a {@code ### <command>} line: the golden-file form. */
    public String combined() {
        return "### ipset -exist restore\n" + ipset + "### iptables-restore --noflush\n" + iptables + "### ip6tables-restore --noflush\n" + ip6tables;
    }
}
