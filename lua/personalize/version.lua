-- The one version of lua-personalize (the C core reports the same).
return "0.1.0"
