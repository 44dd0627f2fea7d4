plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

// bitnets.lce=true: larq-compute-engine's Android library (TFLite + the Lce* operators),
// built from source or taken from an LCE release, copied to app/libs/lce-lite.aar.
val useLce = findProperty("bitnets.lce")?.toString() == "true"

android {
    namespace = "org.bitnets.demo"
    compileSdk = 34

    defaultConfig {
        applicationId = "org.bitnets.demo"
        minSdk = 24
        targetSdk = 34
        versionCode = 1
        versionName = "0.1.0"
        ndk {
            // LCE's optimised binary kernels exist for arm64-v8a only; the others run reference code.
            abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64")
        }
    }

    buildTypes {
        release {
            isMinifyEnabled = false
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_11
        targetCompatibility = JavaVersion.VERSION_11
    }
    kotlinOptions {
        jvmTarget = "11"
    }

    // The model is memory-mapped from the APK, which needs it stored uncompressed.
    androidResources {
        noCompress += "tflite"
    }
}

dependencies {
    implementation(project(":core"))
    implementation("androidx.appcompat:appcompat:1.7.0")
    if (useLce) {
        implementation(files("libs/lce-lite.aar"))
    } else {
        implementation("org.tensorflow:tensorflow-lite:2.16.1")
    }
}
