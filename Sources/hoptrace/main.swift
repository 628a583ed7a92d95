print("hoptrace")
