package org.fhirledger.gateway.validation;

import ca.uhn.fhir.context.FhirContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.fhirledger.gateway.consent.ConsentEnforcer;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.fhirledger.profiles.GatewayProfiles;
import org.fhirledger.profiles.validation.ResourceValidator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.io.Resource;
import org.springframework.core.io.support.PathMatchingResourcePatternResolver;

/** Wires validation on write: the shared validator (loaded in the background) and the HAPI interceptor. */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(ValidationProperties.class)
class ValidationConfiguration {

  private static final Logger log = LoggerFactory.getLogger(ValidationConfiguration.class);
  /** Where FHIR packages on the classpath are found (the gateway's own package is one of them). */
  static final String CLASSPATH_PACKAGES = "classpath*:fhir-packages/*.tgz";
  /** How long a write waits for the validator that is still loading before it gets 503. */
  private static final Duration MAX_WAIT = Duration.ofMinutes(2);

  @Bean(destroyMethod = "close")
  SharedValidator sharedValidator(ValidationProperties properties) {
    return SharedValidator.startLoading(() -> build(properties), MAX_WAIT);
  }

  @Bean
  WriteValidation writeValidation(ValidationProperties properties, SharedValidator validator,
      UpstreamFhirClient upstream, FhirContext fhirContext, ObjectProvider<ConsentEnforcer> consent) {
    ConsentEnforcer enforcer = consent.getIfAvailable();
    return new WriteValidation(properties, validator, new PatchPreview(upstream), fhirContext,
        type -> enforcer == null || !enforcer.refusesConditionalWrites(type));
  }

  /** Builds and warms the validator: classpath packages, then the package directory; never a network call. */
  static ResourceValidator build(ValidationProperties properties) {
    // The validator encodes what it validates; a client's Provenance keeps its versioned targets.
    FhirContext fhirContext = GatewayProfiles.keepVersionedProvenanceTargets(FhirContext.forR4());
    ResourceValidator.Builder builder = ResourceValidator.builder(fhirContext);
    List<String> loaded = new ArrayList<>();
    try {
      for (Resource tgz : new PathMatchingResourcePatternResolver().getResources(CLASSPATH_PACKAGES)) {
        try (InputStream in = tgz.getInputStream()) {
          loaded.add(builder.addPackage(in));
        }
      }
      Path dir = properties.packageDir();
      if (dir != null) {
        if (!Files.isDirectory(dir)) {
          log.warn("gateway.validation.package-dir {} is not a directory: no packages loaded from it", dir);
        } else {
          try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.tgz")) {
            for (Path tgz : files) {
              try (InputStream in = Files.newInputStream(tgz)) {
                loaded.add(builder.addPackage(in));
              }
            }
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("A FHIR package could not be loaded", e);
    }
    ResourceValidator validator = builder.build();
    log.info("FHIR packages loaded for validation: {}", loaded);
    List<String> profiles = properties.profiles().values().stream().flatMap(List::stream).distinct().toList();
    for (String profile : profiles) {
      if (!validator.knowsProfile(profile)) {
        log.warn("Configured profile {} is in no loaded FHIR package: it is not checked", profile);
      }
    }
    validator.warmUp(profiles);
    return validator;
  }
}
