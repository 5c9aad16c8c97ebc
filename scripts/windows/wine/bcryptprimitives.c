/* Wine 8 has no bcryptprimitives.dll, whose ProcessPrng Rust's standard
 * library imports for random numbers (hash map seeds). For the smoke test
 * only: a real Windows has it (Windows 8 and later). */
#include <windows.h>
#include <ntsecapi.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    return RtlGenRandom(data, (ULONG)len);
}
