; Inno Setup script for Hilum on Windows (builds only on Windows).
;   1. On Windows, with Python 3.11: python -m venv .venv && .venv\Scripts\pip install -e .[package]
;   2. .venv\Scripts\pyinstaller --noconfirm packaging\hilum.spec      -> dist\hilum\
;   3. iscc packaging\windows\hilum.iss                                 -> dist\hilum-setup.exe
;   4. dist\hilum\hilum.exe --self-test
#define AppVersion "0.1.0"
[Setup]
AppName=Hilum
AppVersion={#AppVersion}
AppPublisher=Hilum
DefaultDirName={autopf}\Hilum
DefaultGroupName=Hilum
OutputDir=..\..\dist
OutputBaseFilename=hilum-{#AppVersion}-setup
SetupIconFile=hilum.ico
Compression=lzma2
SolidCompression=yes
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequiredOverridesAllowed=dialog

[Files]
Source: "..\..\dist\hilum\*"; DestDir: "{app}"; Flags: recursesubdirs createallsubdirs ignoreversion

[Icons]
Name: "{group}\Hilum"; Filename: "{app}\hilum.exe"
Name: "{group}\Hilum self-test"; Filename: "{app}\hilum.exe"; Parameters: "--self-test"

[Run]
Filename: "{app}\hilum.exe"; Parameters: "--self-test"; Flags: runhidden waituntilterminated; StatusMsg: "Checking the installation..."
