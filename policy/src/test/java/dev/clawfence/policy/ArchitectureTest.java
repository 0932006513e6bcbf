package dev.clawfence.policy;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The policy engine is a pure core: the JDK and inet.ipaddr, no I/O, no processes (STYLE.md "The shape"). */
class ArchitectureTest {

    private static final JavaClasses POLICY = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.clawfence.policy");

    @Test
    void dependsOnlyOnTheJdkAndIpaddress() {
        classes().that().resideInAPackage("dev.clawfence.policy..")
                .should().onlyDependOnClassesThat().resideInAnyPackage("dev.clawfence.policy..", "java..", "inet.ipaddr..")
                .check(POLICY);
    }

    @Test
    void doesNoIoAndStartsNoProcesses() {
        noClasses().that().resideInAPackage("dev.clawfence.policy..")
                .should().dependOnClassesThat().resideInAnyPackage("java.io..", "java.nio.file..", "java.net.http..")
                .orShould().dependOnClassesThat().haveFullyQualifiedName("java.net.Socket")
                .orShould().dependOnClassesThat().haveFullyQualifiedName("java.net.ServerSocket")
                .orShould().dependOnClassesThat().haveFullyQualifiedName("java.net.URL")
                .orShould().dependOnClassesThat().haveFullyQualifiedName("java.lang.ProcessBuilder")
                .orShould().dependOnClassesThat().haveFullyQualifiedName("java.lang.Runtime")
                .check(POLICY);
    }
}
