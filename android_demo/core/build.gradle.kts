// Platform-free logic of the demo (metadata, preprocessing, top-k, timing): plain Java, no
// Android imports, so its unit tests also run without Gradle via ./run_tests.sh.
plugins {
    `java-library`
}

java {
    sourceCompatibility = JavaVersion.VERSION_11
    targetCompatibility = JavaVersion.VERSION_11
}

dependencies {
    testImplementation("junit:junit:4.13.2")
}
