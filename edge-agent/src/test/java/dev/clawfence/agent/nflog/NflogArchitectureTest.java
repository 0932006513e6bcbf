package dev.clawfence.agent.nflog;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The parser and the prefix codec stay pure (no FFM, no I/O); the package knows nothing of the wire or the enforcers. */
class NflogArchitectureTest {

    private static final JavaClasses NFLOG = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.clawfence.agent.nflog");

    @Test
    void parsingNeedsNoNativeAccess() {
        noClasses().that().haveSimpleNameStartingWith("NflogParser").or().haveSimpleNameStartingWith("PrefixCodec")
                .or().haveSimpleName("LoggedPacket")
                .should().dependOnClassesThat().resideInAnyPackage("java.lang.foreign..", "java.io..", "java.nio.file..", "java.nio.channels..")
                .check(NFLOG);
    }

    @Test
    void theReaderKnowsNothingOfTheWireOrTheEnforcers() {
        noClasses().should().dependOnClassesThat()
                .resideInAnyPackage("dev.clawfence.proto..", "io.grpc..", "..agent.sync..", "..agent.enforce..", "..agent.state..")
                .check(NFLOG);
    }
}
