#!/usr/bin/env bash
# Compile android_demo/core (plain Java, no Android) and run its JUnit 4 tests with javac/java
# and Debian's JUnit: `apt-get install openjdk-17-jdk-headless junit4`. No Gradle or Maven needed.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
JUNIT_JARS="${JUNIT_JARS:-/usr/share/java/junit4.jar:/usr/share/java/hamcrest-core.jar}"

for tool in javac java; do
    command -v "$tool" >/dev/null || { echo "run_tests.sh: $tool not found; install a JDK (apt-get install openjdk-17-jdk-headless)" >&2; exit 1; }
done
for jar in ${JUNIT_JARS//:/ }; do
    [[ -f "$jar" ]] || { echo "run_tests.sh: $jar not found; install JUnit 4 (apt-get install junit4) or set JUNIT_JARS" >&2; exit 1; }
done

BUILD="$(mktemp -d)"
trap 'rm -rf "$BUILD"' EXIT
mapfile -t MAIN < <(find "$HERE/src/main/java" -name '*.java' | sort)
mapfile -t TESTS < <(find "$HERE/src/test/java" -name '*.java' | sort)
javac -Xlint:all -Werror --release 11 -d "$BUILD/main" "${MAIN[@]}"
javac --release 11 -cp "$BUILD/main:$JUNIT_JARS" -d "$BUILD/test" "${TESTS[@]}"
mapfile -t CLASSES < <(cd "$HERE/src/test/java" && find . -name '*Test.java' | sed 's|^\./||; s|\.java$||; s|/|.|g' | sort)
java -cp "$BUILD/main:$BUILD/test:$HERE/src/test/resources:$JUNIT_JARS" org.junit.runner.JUnitCore "${CLASSES[@]}"
