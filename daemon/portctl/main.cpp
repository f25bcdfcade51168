// Placeholder replaced by the control client; keeps the build whole meanwhile.
#include <cstdio>

int main() {
    std::fputs("portctl: not built yet\n", stderr);
    return 1;
}
